"""The pictures of a shot's report: a contact sheet (input | depth | output rows), a thumbnail, the
reference image, and an H.264 preview that plays in any browser (ProRes and sequences do not).

Made with PIL and PyAV from the working-canvas frames the shot already has (the write stage passes them).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from gen1_batch import storage
from gen1_batch.media.canvas import Canvas, crop
from gen1_batch.media.writer import write_video

CONTACT_NAME, THUMB_NAME, REFERENCE_NAME, PREVIEW_NAME = "contact.jpg", "thumb.jpg", "reference.jpg", "preview.mp4"
ARTIFACT_NAMES = (CONTACT_NAME, THUMB_NAME, REFERENCE_NAME, PREVIEW_NAME)  # every file write_artifacts may write
TILE_HEIGHT = 144
LABEL_HEIGHT = 18


def sample_indices(count: int, rows: int = 6) -> list[int]:
    """Up to `rows` frame indices spread evenly over a shot, first and last included."""
    if count <= rows:
        return list(range(count))
    return sorted({round(i * (count - 1) / (rows - 1)) for i in range(rows)})


def _tile(image: np.ndarray, height: int = TILE_HEIGHT) -> Image.Image:
    picture = Image.fromarray(image)
    width = max(1, round(picture.width * height / picture.height))
    return picture.resize((width, height), Image.Resampling.LANCZOS)


def _depth_image(depth: np.ndarray) -> np.ndarray:
    """Relative depth as grey, near bright (MiDaS predicts inverse depth)."""
    grey = (np.clip(depth, 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def contact_sheet(source: np.ndarray, depth: np.ndarray, edited: np.ndarray, numbers: list[int]) -> Image.Image:
    """One row per given frame: input | depth | output, labelled with the frame's number."""
    rows = [(n, [_tile(s), _tile(_depth_image(d)), _tile(e)])
            for s, d, e, n in zip(source, depth, edited, numbers, strict=True)]
    tile_w = rows[0][1][0].width
    gap = 4
    sheet = Image.new("RGB", (3 * tile_w + 4 * gap, len(rows) * (TILE_HEIGHT + LABEL_HEIGHT + gap) + gap),
                      (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for r, (number, tiles) in enumerate(rows):
        top = gap + r * (TILE_HEIGHT + LABEL_HEIGHT + gap)
        draw.text((gap, top), f"frame {number}   input | depth | output", fill=(200, 200, 200))
        for c, tile in enumerate(tiles):
            sheet.paste(tile, (gap + c * (tile_w + gap), top + LABEL_HEIGHT))
    return sheet


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def write_artifacts(folder: str, *, frames: np.ndarray, depth: np.ndarray, edited: np.ndarray | None,
                    reference: np.ndarray | None, layout: Canvas, first_frame: int, fps: str,
                    output_url: str | None, output_format: str) -> dict[str, str]:
    """Write a shot's report pictures beside its output; returns name -> file name.

    `frames`, `depth` and `edited` are on the working canvas `layout` (`edited` None: no edit), the
    first of them is the source's frame `first_frame`; `output_url` is the written edit (None: not
    written), in `output_format`."""
    written: dict[str, str] = {}
    if reference is not None:
        storage.write_bytes_atomic(storage.join(folder, REFERENCE_NAME), _jpeg(Image.fromarray(reference)))
        written["reference"] = REFERENCE_NAME
    if edited is None:
        return written
    source, edited = crop(frames, layout), crop(edited, layout)
    indices = sample_indices(len(edited))
    sheet = contact_sheet(source[indices], crop(depth, layout)[indices], edited[indices],
                          [first_frame + i for i in indices])
    storage.write_bytes_atomic(storage.join(folder, CONTACT_NAME), _jpeg(sheet))
    storage.write_bytes_atomic(storage.join(folder, THUMB_NAME), _jpeg(_tile(edited[len(edited) // 2], 90)))
    written.update(contact=CONTACT_NAME, thumbnail=THUMB_NAME)
    if output_url and output_format == "mp4":
        written["video"] = storage.basename(output_url)
    else:  # ProRes and image sequences do not play in a browser: a small H.264 preview does
        even = edited[:, : edited.shape[1] // 2 * 2, : edited.shape[2] // 2 * 2]
        write_video(np.ascontiguousarray(even), storage.join(folder, PREVIEW_NAME), fps)
        written["video"] = PREVIEW_NAME
    return written
