"""Reading one draw's sample from its row: the frames of a clip (or a still) cropped and flipped as
the draw says, and, when the row gives them, the exact depth and the masks of those frames cropped
and flipped alike."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

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


def _maps(url: str, key: str, picks: list[int]) -> np.ndarray:
    """Frames `picks` of a row's per-frame maps: array `key` of an .npz, or an .npy (f×h×w)."""
    import io

    from gen1_batch import storage

    maps = np.load(io.BytesIO(storage.read_bytes(url)))
    if isinstance(maps, np.lib.npyio.NpzFile):
        if key not in maps.files:
            raise ValueError(f"{url}: no `{key}` array (it has {', '.join(maps.files) or 'none'})")
        maps = maps[key]
    if maps.ndim != 3 or picks[-1] >= len(maps):
        raise ValueError(f"{url}: {key} of shape {maps.shape} does not cover frame {picks[-1]}")
    return maps[picks]


def _resized(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    out = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[:, None]
    if tuple(out.shape[-2:]) != size:
        out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
    return out[:, 0].numpy()


def read_depth_truth(url: str, picks: list[int], size: tuple[int, int]) -> np.ndarray:
    """Exact depth of frames `picks` of a row (its depth column: .npz with `depth`, or .npy) as relative
    depth (near = 1, over the picked frames) at size (h, w): float32 f×h×w."""
    from gen1_batch.model.metrics import relative_depth

    return _resized(relative_depth(_maps(url, "depth", picks)), size)


def read_mask(url: str, picks: list[int], size: tuple[int, int]) -> np.ndarray:
    """The masks of frames `picks` of a row (its mask column: .npz with `mask`, or .npy; nonzero
    inside) at size (h, w): float32 f×h×w, 1 inside, 0 outside, the covered share along edges."""
    return _resized(_maps(url, "mask", picks) != 0, size)


class Read(NamedTuple):
    """One draw's pixels, cropped and flipped, with the maps of them asked for that the row has."""

    frames: np.ndarray  # uint8 f×h×w×3 (f = 1 for images)
    depth: np.ndarray | None  # exact relative depth, f×h×w
    mask: np.ndarray | None  # f×h×w in [0, 1]


def read_sample(plan: Any, d: Any, truth: bool = False, mask: bool = False) -> Read:
    """The frames of one draw, cropped and flipped, and with `truth` their exact relative depth, with
    `mask` their masks, when the row has them (cropped and flipped alike)."""
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
    size, crop = frames.shape[1:3], (spec.width, spec.height, d.crop_x, d.crop_y, d.flip)
    maps = [reader(url, picks, size) if wanted and url else None
            for reader, url, wanted in ((read_depth_truth, row.depth, truth), (read_mask, row.mask, mask))]
    return Read(crop_and_flip(frames, *crop),
                *(None if m is None else crop_and_flip(m[..., None], *crop)[..., 0] for m in maps))
