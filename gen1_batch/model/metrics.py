"""Quality metrics of an edit, computed with the job's own CLIP and depth models.

* frame consistency: mean CLIP image-embedding cosine similarity of consecutive output frames
  (the Gen-1 paper's temporal-consistency metric); 1 for a still;
* prompt consistency: mean CLIP similarity of output frames to the text prompt (or to the
  reference image);
* structure error: how far the output's depth is from the input's after a per-frame least-squares
  scale and shift (the MiDaS evaluation convention, since relative depth has neither), as a mean
  absolute error on depth normalised to [0, 1]; 0 when the output keeps the input's shapes.

Pure numpy: no model, no I/O.
"""

from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def frame_consistency(embeddings: np.ndarray) -> float | None:
    """Mean cosine similarity of consecutive frames' embeddings (f×d); None for a single frame."""
    if len(embeddings) < 2:
        return None
    e = _unit(embeddings)
    return float(np.mean(np.sum(e[1:] * e[:-1], axis=-1)))


def prompt_consistency(embeddings: np.ndarray, target: np.ndarray) -> float:
    """Mean cosine similarity of the frames' embeddings (f×d) to one target embedding (d)."""
    return float(np.mean(_unit(embeddings) @ _unit(target)))


def structure_error(depth_in: np.ndarray, depth_out: np.ndarray) -> float:
    """Scale-and-shift-invariant mean absolute depth error between two shots' depth (f×h×w). The
    scale may not be negative: depth with near and far swapped scores as a flat map, not as a match."""
    errors = []
    for a, b in zip(np.asarray(depth_in, np.float64), np.asarray(depth_out, np.float64), strict=True):
        x, y = b.ravel(), a.ravel()
        design = np.stack([x, np.ones_like(x)], axis=1)
        (scale, shift), *_ = np.linalg.lstsq(design, y, rcond=None)
        if scale < 0:
            scale, shift = 0.0, float(np.mean(y))
        errors.append(np.mean(np.abs(scale * x + shift - y)))
    return float(np.mean(errors))


def relative_depth(depth: np.ndarray) -> np.ndarray:
    """Metric depth (distance along the camera axis) in the pipeline's convention (MiDaS-like):
    inverse depth, normalised over the shot to [0, 1], near = 1. What a depth estimator learns."""
    inverse = 1.0 / np.asarray(depth, np.float64)
    lo, hi = inverse.min(), inverse.max()
    return ((inverse - lo) / max(hi - lo, 1e-12)).astype(np.float32)
