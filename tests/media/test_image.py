"""Reference images: any image PIL reads comes in as RGB, bounded in size; a bad file is named with its reason."""

import numpy as np
import pytest
from PIL import Image

from gen1_batch.media.image import MAX_REFERENCE_SIDE, read_image
from gen1_batch.media.reader import MediaError, read_video
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import encode_sequence


def test_a_large_greyscale_image_comes_in_as_rgb_no_larger_than_the_reference_side(tmp_path):
    Image.fromarray(np.zeros((300, 3000), np.uint8)).save(tmp_path / "look.png")
    image = read_image(str(tmp_path / "look.png"))
    assert image.dtype == np.uint8 and image.shape == (MAX_REFERENCE_SIDE * 300 // 3000, MAX_REFERENCE_SIDE, 3)


def test_a_missing_image_prompt_is_named(tmp_path):
    with pytest.raises(MediaError, match=r"look\.png: file not found$"):
        read_image(str(tmp_path / "look.png"))


@pytest.mark.parametrize("damage, reason", [("empty", "empty file"), ("folder", "is a folder, not a file")])
def test_an_image_prompt_and_a_sequence_frame_that_cannot_be_read_are_named_alike(tmp_path, damage, reason):
    encode_sequence(str(tmp_path / "plate.%04d.png"), synthetic_frames(3, 32, 16), "png", "rgb24")
    Image.fromarray(synthetic_frames(1, 32, 16)[0]).save(tmp_path / "look.png")
    for name in ("look.png", "plate.1002.png"):
        (tmp_path / name).unlink()
        if damage == "empty":
            (tmp_path / name).write_bytes(b"")
        else:
            (tmp_path / name).mkdir()
    with pytest.raises(MediaError, match=rf"look\.png: {reason}$"):
        read_image(str(tmp_path / "look.png"))
    with pytest.raises(MediaError, match=rf"plate\.1002\.png: {reason}$"):
        read_video(str(tmp_path / "plate.####.png"))
