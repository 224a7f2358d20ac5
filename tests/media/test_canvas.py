import numpy as np
import pytest

from gen1_batch.media.canvas import crop, fit, pad


@pytest.mark.parametrize("width, height", [(1920, 1080), (2048, 858), (720, 576), (100, 60), (1080, 1920), (65, 33)])
def test_the_content_keeps_the_source_aspect_and_the_canvas_the_models_multiple(width, height):
    for want in [(None, None), (512, None), (None, 320), (512, 512)]:  # wanted sizes are the model's multiples
        c = fit(width, height, *want, side=512, multiple=64)
        assert c.width % 64 == 0 and c.height % 64 == 0 and c.content_width <= c.width
        assert c.content_height <= c.height
        # Aspect kept to the pixel: the content is never stretched.
        pixel = 1 / min(c.content_width, c.content_height)
        assert abs(c.content_width / c.content_height - width / height) <= 2 * pixel


def test_a_wanted_size_is_the_canvas():
    c = fit(1920, 1080, 512, 512, side=512, multiple=64)
    assert (c.width, c.height, c.content_width, c.content_height) == (512, 512, 512, 288)


def test_pad_mirrors_and_crop_takes_the_content_back():
    c = fit(7, 5, 16, 8, side=8, multiple=8)
    assert (c.content_width, c.content_height) == (11, 8)
    content = np.arange(8 * 11 * 3, dtype=np.uint8).reshape(8, 11, 3)
    padded = pad(content, c)
    assert padded.shape == (8, 16, 3)
    assert np.array_equal(padded[:, 11:13], content[:, 9:7:-1])  # mirrored, not a flat border
    assert np.array_equal(crop(padded[None], c)[0], content)
