"""`gen1 customize`: the images as training rows, and the measurement: the same edit through the base
and the customized model, scored by reference consistency (the mean CLIP similarity of the edited
frames to each of the images, the report's metric) with the base model's own CLIP."""

from __future__ import annotations

import numpy as np

from gen1_batch import storage
from gen1_batch.manifest import ManifestError, Problem
from gen1_batch.train.data import TrainingRow, missing_files


def image_rows(images: list[str]) -> list[TrainingRow]:
    rows = [TrainingRow(i, "image", storage.absolute(url)) for i, url in enumerate(images, start=1)]
    problems = missing_files(rows)
    if problems:
        raise ManifestError("images", [Problem(p.row, "image", p.reason) for p in problems])
    return rows


def reference_consistency(pipe, frames: np.ndarray, references: list[np.ndarray]) -> float:
    from gen1_batch.model import metrics

    embeddings = pipe.embed_frames(frames)
    return float(np.mean([metrics.prompt_consistency(embeddings, pipe.embed_frames(r[None])[0]) for r in references]))


def compare(base: str, customized: str, images: list[str], prompt: str, clip: str | None = None,
            frames: int = 8, seed: int = 0) -> tuple[float, float]:
    """Reference consistency of the same edit of `clip` (its first `frames` frames at the model's
    working size; a synthesized clip when None) by the base and by the customized model."""
    from gen1_batch.media import probe, read_image, read_video
    from gen1_batch.media.synthetic import synthetic_frames
    from gen1_batch.model.loading import load_pipeline
    from gen1_batch.stages.common import quiet_model_logs

    quiet_model_logs()
    scores = []
    judge = load_pipeline(base, ["image_encoder"])
    for spec in (base, customized):
        pipe = load_pipeline(spec)
        side, multiple = pipe.settings["default_resolution"], pipe.settings["resolution_multiple"]
        if clip is None:
            source = synthetic_frames(frames, side, side * 3 // 4 // multiple * multiple, seed=seed)
        else:
            first = probe(clip)["first_frame"]
            source, _ = read_video(clip, first, first + frames - 1, side=side, multiple=multiple)
        edited = pipe(source, prompt=prompt, seed=seed).frames
        references = [_fit(read_image(url), edited.shape[2], edited.shape[1]) for url in images]
        scores.append(reference_consistency(judge, edited, references))
    return scores[0], scores[1]


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))
