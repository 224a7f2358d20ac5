"""A validation edit: a held-out clip edited towards its own first frame (as an image prompt),
scored with the report's metrics (frame consistency, structure error)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gen1_batch.model import metrics


def score_edit(pipe: Any, frames: np.ndarray, structure: int, seed: int = 0) -> dict[str, float]:
    depth = pipe.estimate_depth(frames)
    content = pipe.embed_frames(frames[:1])[0]
    conditioning = {"content": content, "null": np.zeros_like(content)}
    edited, _ = pipe.generate(depth, conditioning, structure=structure, content_scale=7.5, temporal_scale=1.0,
                              seed=seed)
    return {
        "frame_consistency": metrics.frame_consistency(pipe.embed_frames(edited)),
        "source_frame_consistency": metrics.frame_consistency(pipe.embed_frames(frames)),
        "structure_error": metrics.structure_error(depth, pipe.estimate_depth(edited)),
    }
