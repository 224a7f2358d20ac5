"""The toy world's media for the README: the style stills `gen1 customize` is shown with."""

import numpy as np
from PIL import Image

from gen1_batch.toy.example import write_style_stills
from gen1_batch.toy.measures import srgb_to_lab


def test_style_stills_show_only_the_style_colours(tmp_path):
    paths = write_style_stills(str(tmp_path), count=3)
    assert len(paths) == 3
    for path in paths:
        pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
        assert pixels.shape[0] == 64 * 64
        hue = np.degrees(np.arctan2(*srgb_to_lab(pixels)[:, [2, 1]].T)) % 360
        chroma = np.hypot(*srgb_to_lab(pixels)[:, [1, 2]].T)
        coloured = hue[chroma > 20]
        purple = (coloured > 280) | (coloured < 20)
        yellow = (coloured > 60) & (coloured < 110)
        assert (purple | yellow).mean() > 0.9
