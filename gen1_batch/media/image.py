"""Reference images (image prompts)."""

from __future__ import annotations

import io

import numpy as np

from gen1_batch.errors import describe
from gen1_batch.media.files import MediaError, read_file

# CLIP sees 224 px; a few times that keeps the crop sharp without holding 8K stills in memory.
MAX_REFERENCE_SIDE = 1024


def read_image(url: str) -> np.ndarray:
    """An image as uint8 h×w×3 RGB, at most MAX_REFERENCE_SIDE on its long side."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(read_file(url))) as image:
            image = image.convert("RGB")
            image.thumbnail((MAX_REFERENCE_SIDE, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
            return np.asarray(image).copy()
    except (Image.DecompressionBombError, OSError, ValueError) as e:  # UnidentifiedImageError is an OSError
        raise MediaError(f"{url}: not a readable image ({describe(e)})") from None
