import numpy as np
import pytest

from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.windows import WindowSpec


def test_the_same_seed_gives_a_bit_identical_edit_and_another_seed_does_not(tiny, frames):
    a = tiny(frames, prompt="a red car", seed=3).frames
    assert np.array_equal(a, tiny(frames, prompt="a red car", seed=3).frames)
    assert not np.array_equal(a, tiny(frames, prompt="a red car", seed=4).frames)
    assert a.shape == frames.shape and a.dtype == np.uint8


def test_structure_follows_the_source_depth(tiny):
    """Two shots with different depth, same prompt and seed: the edits differ, and t_s changes them too."""
    a, b = synthetic_frames(4, 48, 32, seed=1), synthetic_frames(4, 48, 32, seed=1)[:, ::-1].copy()
    edit_a = tiny(a, prompt="x", seed=0, structure=0).frames
    assert not np.array_equal(edit_a, tiny(b, prompt="x", seed=0, structure=0).frames)
    assert not np.array_equal(edit_a, tiny(a, prompt="x", seed=0, structure=5).frames)


def test_content_from_text_image_both_and_the_negative_prompt(tiny):
    image = synthetic_frames(1, 40, 40, seed=9)[0]
    text = tiny.encode_content("a red car")
    assert text["content"].shape == (32,) and not text["null"].any()  # ∅ is zero without a negative prompt
    picture = tiny.encode_content(image=image)["content"]
    both = tiny.encode_content("a red car", image)["content"]
    np.testing.assert_allclose(both, (text["content"] + picture) / 2, rtol=1e-5, atol=1e-6)
    negative = tiny.encode_content("a red car", negative_prompt="blurry")["null"]
    np.testing.assert_array_equal(negative, tiny.encode_content("blurry")["content"])
    with pytest.raises(ValueError, match="prompt"):
        tiny.encode_content()


def test_depth_is_per_frame_at_frame_size_and_normalised(tiny, frames):
    depth = tiny.estimate_depth(frames)
    assert depth.shape == frames.shape[:3] and depth.dtype == np.float32
    assert depth.min() == 0.0 and depth.max() == pytest.approx(1.0)


def test_any_shot_length_runs_through_windows(tiny):
    frames = synthetic_frames(13, 32, 32)
    out = tiny(frames, prompt="x", seed=1, window=WindowSpec(length=4, stride=3))
    assert out.frames.shape == (13, 32, 32, 3)
    assert out.stats.forwards >= out.stats.steps


def test_a_working_size_off_the_models_multiple_is_refused(tiny):
    with pytest.raises(ValueError, match="multiple of 16"):
        tiny(synthetic_frames(2, 40, 24), prompt="x")


def test_input_checks(tiny):
    with pytest.raises(ValueError, match="uint8"):
        tiny(np.zeros((2, 32, 32, 3), np.float32), prompt="x")
    with pytest.raises(ValueError, match="empty"):
        tiny(np.zeros((0, 32, 32, 3), np.uint8), prompt="x")
