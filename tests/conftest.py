"""Shared fixtures: clips synthesized with PyAV (no binary fixtures) and the tiny model."""

from __future__ import annotations

import os

# The suite edits with the tiny model (seconds per shot) unless a test names another; set before
# gen1_batch is imported, and inherited by the `gen1` subprocesses tests start.
os.environ.setdefault("GEN1_MODEL", "tiny")

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from gen1_batch.media.synthetic import synthetic_frames, write_synthetic_clip


@pytest.fixture
def make_clip(tmp_path: Path):
    """make_clip(name, frames=12, width=64, height=48, fps="24") -> path of a new H.264 clip."""

    def make(name: str = "clip.mp4", frames: int = 12, width: int = 64, height: int = 48,
             fps: str | Fraction = "24", seed: int = 0) -> str:
        return write_synthetic_clip(str(tmp_path / name), frames, width, height, Fraction(fps), seed)

    return make


@pytest.fixture(scope="session")
def tiny():
    """The tiny preset's full pipeline, on CPU."""
    from gen1_batch.model.loading import load_pipeline

    return load_pipeline("tiny", device="cpu")


@pytest.fixture
def frames() -> np.ndarray:
    return synthetic_frames(6, 48, 32, seed=3)
