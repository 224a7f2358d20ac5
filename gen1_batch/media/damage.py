"""Damaged frames, handled like a compositor's Read node: fail the shot (the default), or put the
nearest good frame or black in their place, keeping every frame number where it was.

A frame is damaged when the decoder fails on it, drops it, or flags it corrupt (a frame that
depends on a damaged one, such as an H.264 P-frame after a broken keyframe, is damaged too), and
in a sequence when its file is missing, empty, unreadable or of another size.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np

DAMAGED_FRAME_MODES = ("fail", "nearest", "black")


def describe(numbers: Iterable[int]) -> str:
    """'frame 7' or 'frames 3-5, 9': frame numbers, runs collapsed."""
    numbers = sorted(numbers)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"{'frame' if len(numbers) == 1 else 'frames'} {text}"


def nearest(number: int, good: list[int]) -> int:
    """The good frame closest to `number` (sorted `good`, not empty); the earlier one on a tie."""
    at = bisect.bisect_left(good, number)
    candidates = good[max(0, at - 1): at + 1]
    return min(candidates, key=lambda m: (abs(m - number), m))


def fill(numbers: range, frames: dict[int, np.ndarray], mode: str) -> tuple[np.ndarray, list[int]]:
    """The frames of `numbers` in order, each damaged one (absent from `frames`) replaced as `mode`
    says; `frames` may hold good neighbours outside `numbers` to take from. Returns the stacked
    frames and the damaged numbers. `frames` must hold at least one frame."""
    damaged = [n for n in numbers if n not in frames]
    if damaged and mode not in ("nearest", "black"):
        raise ValueError(f"damaged frames need mode nearest or black, got {mode!r}")
    good = sorted(frames)
    blank = np.zeros_like(frames[good[0]])
    out = [frames[n] if n in frames else frames[nearest(n, good)] if mode == "nearest" else blank for n in numbers]
    return np.stack(out), damaged
