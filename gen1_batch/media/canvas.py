"""The working canvas: the source scaled to fit with its aspect ratio kept, padded to the size the
model needs. The edit is cropped back to the content and scaled to the source size, so the output
is never stretched, only resampled."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Canvas:
    width: int  # what the model sees: multiples of the model's size multiple
    height: int
    content_width: int  # the source, scaled with its aspect kept, at the top left
    content_height: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _ceil_to(x: float, multiple: int) -> int:
    return max(multiple, math.ceil(x / multiple - 1e-9) * multiple)


def fit(width: int, height: int, want_width: int | None, want_height: int | None, side: int,
        multiple: int = 8) -> Canvas:
    """The canvas for a `width`×`height` source.

    With a wanted size (either side or both) the canvas is that size and the content fits inside;
    otherwise the content covers about side×side pixels and the canvas rounds it up to `multiple`.
    """
    aspect = width / height
    if want_width and want_height:
        canvas_w, canvas_h = want_width, want_height
        scale = min(canvas_w / width, canvas_h / height)
    elif want_width:
        scale = want_width / width
        canvas_w, canvas_h = want_width, _ceil_to(height * scale, multiple)
    elif want_height:
        scale = want_height / height
        canvas_w, canvas_h = _ceil_to(width * scale, multiple), want_height
    else:
        scale = side / math.sqrt(width * height)
        canvas_w, canvas_h = _ceil_to(width * scale, multiple), _ceil_to(height * scale, multiple)
    content_w = min(canvas_w, max(1, round(width * scale)))
    content_h = min(canvas_h, max(1, round(content_w / aspect)))
    return Canvas(canvas_w, canvas_h, content_w, content_h)


def pad(image: np.ndarray, canvas: Canvas) -> np.ndarray:
    """Place content-size h×w×c pixels on the canvas, mirroring them into the padding (a natural
    continuation for the depth and diffusion models, unlike a flat border)."""
    extra_h, extra_w = canvas.height - image.shape[0], canvas.width - image.shape[1]
    if not extra_h and not extra_w:
        return image
    mode = "reflect" if extra_h < image.shape[0] and extra_w < image.shape[1] else "symmetric"
    return np.pad(image, ((0, extra_h), (0, extra_w), (0, 0)), mode=mode)


def crop(frames: np.ndarray, canvas: Canvas) -> np.ndarray:
    """The content part of canvas-size f×h×w×c frames."""
    return frames[:, : canvas.content_height, : canvas.content_width]
