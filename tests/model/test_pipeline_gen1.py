import math

import numpy as np
import pytest
import torch

from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.windows import WindowSpec, window_plan


def test_the_same_seed_gives_a_bit_identical_edit_and_another_seed_does_not(tiny, frames):
    a = tiny(frames, prompt="a red car", seed=3).frames
    assert np.array_equal(a, tiny(frames, prompt="a red car", seed=3).frames)
    assert not np.array_equal(a, tiny(frames, prompt="a red car", seed=4).frames)
    assert a.shape == frames.shape and a.dtype == np.uint8


def structure_inputs(tiny, frames, level):
    """Every structure input the UNet is called with while `tiny` edits `frames` at t_s = `level`."""
    seen, denoise = [], tiny._denoise

    def spy(sample, t, content, structure, video):
        seen.append(structure.clone())
        return denoise(sample, t, content, structure, video)

    tiny._denoise = spy
    try:
        edit = tiny(frames, prompt="x", seed=0, structure=level).frames
    finally:
        del tiny._denoise
    return seen, edit


def test_every_unet_call_is_conditioned_on_the_source_depth_obscured_by_t_s(tiny):
    a = synthetic_frames(4, 48, 32, seed=1)
    b = a[:, ::-1].copy()  # the same picture upside down: another depth
    for level in (0, 5):
        seen, _ = structure_inputs(tiny, a, level)
        expected = tiny.encode_structure(tiny.estimate_depth(a), level)
        assert len(seen) == tiny.settings["default_steps"]  # one window, both passes in one call per step
        assert all(torch.equal(call, expected.expand_as(call)) for call in seen)
    assert not torch.equal(structure_inputs(tiny, b, 0)[0][0], seen[0])


def test_the_structure_input_changes_the_edit(tiny):
    """Random weights follow no depth, so what can be asserted is that the structure input reaches the
    output: another depth, or another t_s, with the same prompt and seed gives another edit."""
    a = synthetic_frames(4, 48, 32, seed=1)
    edit_a = structure_inputs(tiny, a, 0)[1]
    assert not np.array_equal(edit_a, structure_inputs(tiny, a[:, ::-1].copy(), 0)[1])
    assert not np.array_equal(edit_a, structure_inputs(tiny, a, 5)[1])


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


def test_any_shot_length_runs_through_windows_with_one_unet_call_per_batch_of_window_passes(tiny):
    frames, spec = synthetic_frames(13, 32, 32), WindowSpec(length=4, stride=3)
    out = tiny(frames, prompt="x", seed=1, window=spec, temporal_scale=1.5)
    assert out.frames.shape == (13, 32, 32, 3)
    steps, max_batch, passes = tiny.settings["default_steps"], tiny.settings["max_batch"], 2  # video: ε(c), ε(∅)
    windows = [len(starts) for starts in window_plan(13, spec, steps)]
    assert out.stats.steps == steps
    assert out.stats.clip_passes == sum(windows) * passes
    assert out.stats.image_frames == 13 * steps  # ε^π (ω_t ≠ 1): once per frame per step
    image_calls = math.ceil(13 / (max_batch * spec.length))
    assert out.stats.forwards == sum(math.ceil(n * passes / max_batch) + image_calls for n in windows)


def test_a_working_size_off_the_models_multiple_is_refused(tiny):
    with pytest.raises(ValueError, match="multiple of 16"):
        tiny(synthetic_frames(2, 40, 24), prompt="x")


def test_input_checks(tiny):
    with pytest.raises(ValueError, match="uint8"):
        tiny(np.zeros((2, 32, 32, 3), np.float32), prompt="x")
    with pytest.raises(ValueError, match="empty"):
        tiny(np.zeros((0, 32, 32, 3), np.uint8), prompt="x")


def test_the_prior_draws_its_noise_apart_from_the_video_noise_of_the_same_seed():
    from gen1_batch.model.base import noise_generator

    video = torch.randn(64, generator=noise_generator(7))
    assert torch.equal(video, torch.randn(64, generator=torch.Generator().manual_seed(7)))  # seeds keep their noise
    prior = torch.randn(64, generator=noise_generator(7, "prior"))
    assert abs(torch.corrcoef(torch.stack([video, prior]))[0, 1]) < 0.5
    assert torch.equal(prior, torch.randn(64, generator=noise_generator(7, "prior")))  # and it is reproducible


def test_a_canvas_above_the_tiling_size_goes_through_the_autoencoder_in_tiles(tiny, monkeypatch):
    """Memory for the autoencoder stops growing with the canvas above `vae_tile_above`; below it the
    frames go through whole, as before."""
    tiled = []
    for name in ("tiled_decode", "_tiled_encode"):
        original = getattr(tiny.vae, name)
        monkeypatch.setattr(tiny.vae, name, lambda *a, _o=original, _n=name, **k: (tiled.append(_n), _o(*a, **k))[1])
    factor = tiny.vae_scale_factor
    monkeypatch.setitem(tiny.settings, "vae_tile_above", 96)
    small, large = (torch.randn(1, 4, 2, 64 // factor, 96 // factor), torch.randn(1, 4, 2, 64 // factor, 192 // factor))
    assert tiny.decode_latents(small).shape == (2, 64, 96, 3) and tiled == []
    assert tiny.decode_latents(large).shape == (2, 64, 192, 3) and "tiled_decode" in tiled
    tiny.encode_structure(np.random.default_rng(0).random((2, 64, 192), dtype=np.float32), 0)
    assert "_tiled_encode" in tiled
    tiled.clear()
    latents = tiny.encode_frames(synthetic_frames(2, 192, 64, seed=0))
    assert latents.shape == (1, 4, 2, 64 // factor, 192 // factor) and "_tiled_encode" in tiled
    assert not tiny.vae.use_tiling  # left as it was
