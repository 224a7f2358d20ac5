"""Overlapping temporal windows for shots longer than the model's clip length.

Every denoising step predicts each window, blends the predictions per frame with weights along
the window, and divides by the per-frame weight sum, so the scheduler steps one whole-shot latent
(co-denoising, as in MultiDiffusion). Device memory is set by the window batch, not the shot length.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from gen1_batch.model.settings import BLENDS


@dataclass(frozen=True)
class WindowSpec:
    """How a shot is cut into windows. `shift` moves the window grid from step to step, so seams
    do not sit on the same frames for the whole schedule (except the first window's end and the
    last window's start: those two windows must lie inside the shot); `free_noise` repeats one
    window of initial noise, shuffled, along the shot (FreeNoise) for long-range consistency."""

    length: int = 8
    stride: int = 4
    blend: str = "pyramid"
    shift: bool = True
    free_noise: bool = False

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"window length must be at least 1, got {self.length}")
        if not 1 <= self.stride <= self.length:
            raise ValueError(f"window stride must be from 1 to the window length {self.length}, got {self.stride}")
        if self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {self.blend!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def window_starts(num_frames: int, length: int, stride: int, offset: int = 0) -> list[int]:
    """Start frames of windows of `length` covering [0, num_frames): a grid of pitch `stride` moved
    by `offset`, clamped into the shot (so the first window starts at 0 and the last ends at the
    end). A shot shorter than a window is one window of its own length."""
    if num_frames <= length:
        return [0]
    last = num_frames - length
    offset %= stride
    grid = range(offset - stride if offset else 0, last + stride, stride)
    starts = sorted({min(max(p, 0), last) for p in grid})
    if starts[-1] != last:
        starts.append(last)
    return starts


def step_offset(step: int, steps: int, stride: int) -> int:
    """Window-grid offset for a denoising step: spread evenly over one stride across the schedule."""
    return (step * stride) // max(steps, 1) % stride


def blend_weights(length: int, blend: str, device: torch.device | None = None) -> torch.Tensor:
    """Per-frame weights along a window; every weight is positive so every frame is covered."""
    j = torch.arange(length, device=device, dtype=torch.float32)
    if blend == "flat":
        return torch.ones(length, device=device)
    if blend == "pyramid":
        return torch.minimum(j + 1, length - j)
    if blend == "gaussian":
        sigma = max(length / 4, 1e-3)
        return torch.exp(-((j - (length - 1) / 2) ** 2) / (2 * sigma**2)).clamp_min(1e-3)
    raise ValueError(f"unknown blend {blend!r}")


def window_plan(num_frames: int, spec: WindowSpec, steps: int) -> list[list[int]]:
    """The window start frames of every step (one list per step)."""
    length = min(spec.length, num_frames)
    return [window_starts(num_frames, length, spec.stride,
                          step_offset(i, steps, spec.stride) if spec.shift else 0) for i in range(steps)]


def describe_plan(num_frames: int, spec: WindowSpec, steps: int) -> dict:
    """A summary of the plan for reports and --dry-run."""
    plan = window_plan(num_frames, spec, steps)
    length = min(spec.length, num_frames)
    return {
        **spec.to_dict(),
        "frames": num_frames,
        "window_frames": length,
        "windows_per_step": [len(p) for p in plan] if spec.shift else len(plan[0]),
        "first_step_starts": plan[0],
        "frame_evaluations_per_step": round(sum(len(p) for p in plan) * length / (len(plan) * num_frames), 3),
    }


def initial_noise(shape: tuple[int, ...], spec: WindowSpec, generator: torch.Generator) -> torch.Tensor:
    """Initial latent noise b×c×f×h×w, drawn on the CPU so a seed gives the same noise on any device."""
    b, c, f, h, w = shape
    if not spec.free_noise or f <= spec.length:
        return torch.randn(shape, generator=generator)
    base = torch.randn((b, c, spec.length, h, w), generator=generator)
    chunks = [base]
    for _ in range(math.ceil((f - spec.length) / spec.stride)):
        order = torch.randperm(spec.length, generator=generator)[: spec.stride]
        chunks.append(base[:, :, order])
    return torch.cat(chunks, dim=2)[:, :, :f]
