"""`gen1_batch.edit`: one shot in a notebook or script, through the same pipeline methods as the batch job."""

from __future__ import annotations

import functools

import numpy as np

from gen1_batch.media import canvas as canvases
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.model.windows import WindowSpec
from gen1_batch.shot import DEFAULTS


@functools.lru_cache(maxsize=2)
def cached_pipeline(model: str, device: str | None = None, dtype: str | None = None):
    """Load a model once per process (notebooks call `edit` many times)."""
    from gen1_batch.model.loading import load_pipeline

    return load_pipeline(model, device=device, dtype=dtype)


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False, antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def edit(
    frames: np.ndarray,
    prompt: str | None = None,
    image_prompt: np.ndarray | None = None,
    *,
    negative_prompt: str | None = None,
    structure: int = DEFAULTS["structure"],
    content_scale: float = DEFAULTS["content_scale"],
    temporal_scale: float = DEFAULTS["temporal_scale"],
    steps: int | None = None,
    seed: int = 0,
    width: int | None = None,
    height: int | None = None,
    window: WindowSpec | None = None,
    model: str = DEFAULT_MODEL,
    device: str | None = None,
) -> np.ndarray:
    """Edit uint8 f×h×w×3 frames towards a text prompt and/or a reference image (uint8 h×w×3).

    The frames are edited on the model's working canvas (about its native size, or `width`×`height`,
    aspect kept and padded to the model's multiple) and returned at their own size. Frames that
    already fit the canvas exactly are edited as they are. Same seed, same input: the same frames,
    bit for bit, on the same device.
    """
    pipe = cached_pipeline(model, device)
    h, w = frames.shape[1:3]
    s = pipe.settings
    layout = canvases.fit(w, h, width, height, side=s["default_resolution"], multiple=s["resolution_multiple"])
    as_is = (layout.width, layout.height) == (w, h)
    work = frames if as_is else np.stack([canvases.pad(f, layout) for f in
                                          _resize(frames, layout.content_width, layout.content_height)])
    out = pipe(work, prompt=prompt, image_prompt=image_prompt, negative_prompt=negative_prompt,
               structure=structure, content_scale=content_scale, temporal_scale=temporal_scale,
               steps=steps, seed=seed, window=window).frames
    return out if as_is else _resize(canvases.crop(out, layout), w, h)
