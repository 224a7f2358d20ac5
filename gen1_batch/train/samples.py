"""Reading one draw's sample from its row: the frames of a clip (or a still) cropped and flipped as
the draw says, and, when the row gives it, the exact depth of those frames cropped and flipped alike."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from gen1_batch.train.objective import IMAGE, clip_frames, cover_size, crop_and_flip


def resize_to_cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """An h×w×3 still scaled (aspect kept) to cover width × height."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    size = (max(width, math.ceil(w * scale)), max(height, math.ceil(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


@functools.lru_cache(maxsize=65536)
def probed(url: str) -> dict[str, Any]:
    """A video's probe, once per preprocessing actor (a run samples each video many times)."""
    from gen1_batch.media import probe

    return probe(url)


def read_depth_truth(url: str, picks: list[int], size: tuple[int, int]) -> np.ndarray:
    """Exact depth of frames `picks` of a row (its depth column: .npz with `depth`, or .npy) as relative
    depth (near = 1, over the picked frames) at size (h, w): float32 f×h×w."""
    import io

    import torch
    import torch.nn.functional as F

    from gen1_batch import storage
    from gen1_batch.model.metrics import relative_depth

    data = np.load(io.BytesIO(storage.read_bytes(url)))
    depth = data["depth"] if isinstance(data, np.lib.npyio.NpzFile) else data
    if depth.ndim != 3 or picks[-1] >= len(depth):
        raise ValueError(f"{url}: depth of shape {depth.shape} does not cover frame {picks[-1]}")
    maps = torch.from_numpy(relative_depth(depth[picks]))[:, None]
    if tuple(maps.shape[-2:]) != size:
        maps = F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
    return maps[:, 0].numpy()


def read_sample(plan: Any, d: Any, truth: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """The uint8 f×h×w×3 frames of one draw (f = 1 for images), cropped and flipped, and with `truth`
    their exact relative depth (f×h×w, cropped and flipped alike) when the row has it."""
    from gen1_batch.media import read_image, read_video
    from gen1_batch.media.sequence import is_sequence

    spec = plan.recipe.data
    row = plan.row_of(d)
    if d.kind == IMAGE and plan.images:
        frames = resize_to_cover(read_image(row.url), spec.width, spec.height)[None]
        picks = [0]
    else:
        info = probed(row.url)
        length = info["header_frames"]
        size = cover_size(info["width"], info["height"], spec.width, spec.height)
        if length is None and not is_sequence(row.url):  # the header does not say: read it all once
            frames, _ = read_video(row.url, size=size)
            length, first = len(frames), None
        else:
            frames, first = None, info["first_frame"]
        if d.kind == IMAGE:
            picks = [min(int(d.clip_start * length), length - 1)]
        else:
            picks = clip_frames(length, spec.frames, spec.frame_stride, d.clip_start)
            if picks is None:
                raise ValueError(f"{row.url}: {length} frames; the recipe's clips need at least {spec.frames}")
        if frames is None:
            frames, _ = read_video(row.url, frame_start=first + picks[0], frame_end=first + picks[-1], size=size)
            offset = picks[0]
        else:
            offset = 0
        if picks[-1] - offset >= len(frames):
            raise ValueError(f"{row.url}: only {len(frames)} frames could be read of the {picks[-1] + 1} its header "
                             "states")
        frames = frames[[p - offset for p in picks]]
    depth = read_depth_truth(row.depth, picks, frames.shape[1:3]) if truth and row.depth else None
    crop = (spec.width, spec.height, d.crop_x, d.crop_y, d.flip)
    return crop_and_flip(frames, *crop), None if depth is None else crop_and_flip(depth[..., None], *crop)[..., 0]
