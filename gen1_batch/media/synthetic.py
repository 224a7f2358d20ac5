"""Synthetic clips with depth-like structure (moving shapes on a gradient), for tests, benchmarks
and the bundled example; no binary fixtures needed."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def synthetic_frames(frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 f×h×w×3: a disc and a square moving over a lit gradient, with a little grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width, y / height, 1 - x / width], -1) * 180 + 40
    colours = rng.uniform(60, 255, size=(2, 3)).astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        img = base.copy()
        cx, cy = width * (0.2 + 0.6 * t), height * (0.5 + 0.25 * np.sin(2 * np.pi * t))
        disc = (x - cx) ** 2 + (y - cy) ** 2 < (0.18 * min(width, height)) ** 2
        img[disc] = colours[0] * (1 - 0.4 * ((y[disc] - cy) / height + 0.2))[:, None]
        sx, sy = int(width * (0.7 - 0.4 * t)), int(height * 0.15)
        side = int(0.25 * min(width, height))
        img[sy: sy + side, sx: sx + side] = colours[1]
        img += rng.normal(0, 3, img.shape).astype(np.float32)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def write_synthetic_clip(path: str, frames: int = 24, width: int = 96, height: int = 64,
                         fps: Fraction | str = Fraction(24), seed: int = 0, output_format: str = "mp4",
                         timecode: str | None = None, first_frame: int = 1001) -> str:
    """A clip (or, with a png/exr format and a `####` pattern, a sequence numbered from `first_frame`)."""
    from gen1_batch.media.writer import write_video

    write_video(synthetic_frames(frames, width, height, seed), path, fps, output_format, timecode, first_frame)
    return path
