"""The public-weights backend (AnimateDiff + depth ControlNet + IP-Adapter) under the Gen-1 controls,
on tiny configs of the same diffusers classes."""

import numpy as np
import pytest
import torch

from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.guidance import (
    IMAGE_NULL,
    VIDEO_CONTENT,
    VIDEO_NULL,
    guidance_weights,
    guided_prediction_reference,
)
from gen1_batch.model.loading import describe_model, load_pipeline
from gen1_batch.model.presets import PRESETS, save_preset
from gen1_batch.model.sampler import guided_window_prediction


@pytest.fixture(scope="module")
def motion():
    return load_pipeline("tiny-animatediff", device="cpu")


@pytest.fixture(scope="module")
def case(motion):
    frames = synthetic_frames(6, 64, 48, seed=2)
    depth = motion.estimate_depth(frames)
    g = torch.Generator().manual_seed(0)
    return {"frames": frames, "depth": depth, "structure": motion.prepare_structure(depth, 2),
            "z": torch.randn(1, 4, 6, 6, 8, generator=g), "t": torch.tensor(400)}


def passes(motion, case, conditioning):
    content, null = motion.prepare_conditioning(conditioning)
    z, t, s = case["z"], case["t"], case["structure"]
    with torch.no_grad():
        return {VIDEO_CONTENT: motion._denoise(z, t, content, s, torch.tensor([True])),
                VIDEO_NULL: motion._denoise(z, t, null, s, torch.tensor([True])),
                IMAGE_NULL: motion._denoise(z, t, null, s, torch.tensor([False]))}, content, null


@pytest.mark.parametrize("omega, omega_t", [(7.5, 0.0), (7.5, 1.0), (5.0, 1.5)])
def test_the_guidance_is_the_papers_with_motion_modules_as_the_temporal_layers(motion, case, omega, omega_t):
    p, content, null = passes(motion, case, motion.encode_content("a red car"))
    with torch.no_grad():
        guided = guided_window_prediction(motion._denoise, case["z"], case["t"], case["structure"], content, null,
                                          [0], 6, guidance_weights(omega, omega_t), "pyramid", 8)
    expected = guided_prediction_reference(p[VIDEO_CONTENT], p[VIDEO_NULL], p[IMAGE_NULL], omega, omega_t)
    torch.testing.assert_close(guided, expected, rtol=1e-4, atol=1e-4)
    if omega_t == 1.0:  # plain classifier-free guidance of the video model
        torch.testing.assert_close(guided, p[VIDEO_NULL] + omega * (p[VIDEO_CONTENT] - p[VIDEO_NULL]),
                                   rtol=1e-4, atol=1e-4)


def test_at_temporal_scale_0_without_content_guidance_it_is_the_image_model_on_each_frame(motion, case):
    p, content, null = passes(motion, case, motion.encode_content("a red car"))
    with torch.no_grad():
        guided = guided_window_prediction(motion._denoise, case["z"], case["t"], case["structure"], content, null,
                                          [0], 6, guidance_weights(0.0, 0.0), "pyramid", 8)
        torch.testing.assert_close(guided, p[IMAGE_NULL], rtol=1e-5, atol=1e-5)
        # Bypassed motion modules: an image-mode frame depends on its own frame only.
        z2 = case["z"].clone()
        z2[:, :, 3] += 1
        a = motion._denoise(case["z"], case["t"], null, case["structure"], torch.tensor([False]))
        b = motion._denoise(z2, case["t"], null, case["structure"], torch.tensor([False]))
        assert torch.equal(a[:, :, 0], b[:, :, 0]) and not torch.equal(a[:, :, 3], b[:, :, 3])
        v = motion._denoise(z2, case["t"], null, case["structure"], torch.tensor([True]))
        assert not torch.equal(v[:, :, 0], a[:, :, 0])  # with the motion modules, neighbours matter


def test_image_mode_clips_never_enter_the_motion_modules_and_a_mixed_batch_equals_its_clips_apart(motion, case):
    """The image pass skips the motion modules instead of running and discarding them: at 512² their
    attention over a batch of one-frame clips failed to launch on an H100 (benchmarks/gpu.py)."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    seen = []  # what reaches the motion modules' own layers: sequences × frames
    hooks = [m.proj_in.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape[:2])))
             for m in motion.unet.modules() if isinstance(m, AnimateDiffTransformer3D)]
    _, null = motion.prepare_conditioning(motion.encode_content("a red car"))
    z, t, s = case["z"], case["t"], case["structure"]
    try:
        with torch.no_grad():
            image = motion._denoise(z, t, null, s, torch.tensor([False]))
            assert seen == []
            video = motion._denoise(z.flip(2), t, null, s.flip(2), torch.tensor([True]))
            one_clip, seen[:] = list(seen), []
            mixed = motion._denoise(torch.cat([z, z.flip(2)]), t, (null[0].repeat(2, 1, 1), null[1].repeat(2, 1, 1)),
                                    torch.cat([s, s.flip(2)]), torch.tensor([False, True]))
            assert seen == one_clip  # the video clip alone went through them
    finally:
        for hook in hooks:
            hook.remove()
    torch.testing.assert_close(mixed, torch.cat([image, video]), rtol=1e-4, atol=1e-4)


def test_structure_level_changes_the_controlnets_input_and_level_0_leaves_it_untouched(motion, case):
    seen = []
    hook = motion.controlnet.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["controlnet_cond"].clone()), with_kwargs=True)
    try:
        for level in (0, 3):
            structure = motion.prepare_structure(case["depth"], level)
            with torch.no_grad():
                motion._denoise(case["z"], case["t"], motion.prepare_conditioning(
                    motion.encode_content("x"))[0], structure, torch.tensor([True]))
    finally:
        hook.remove()
    untouched = torch.from_numpy(case["depth"])[:, None].expand(-1, 3, -1, -1)
    assert torch.equal(seen[0], untouched)  # t_s = 0: the depth itself, as grey
    assert not torch.equal(seen[1], untouched)


def test_an_image_prompt_changes_the_ip_adapter_embedding_and_text_only_runs_without_one(motion, case):
    text_only = motion.encode_content("a red car")
    with_image = motion.encode_content("a red car", case["frames"][0])
    assert "image" not in text_only and with_image["image"].shape == (16,) and with_image["image"].any()
    other = motion.encode_content("a red car", case["frames"][-1][::-1].copy())
    assert not np.array_equal(other["image"], with_image["image"])
    # Text only: the IP-Adapter's share is zero, so no image embedding can change the prediction.
    (text, image), _ = motion.prepare_conditioning(text_only)
    scales = {tuple(p.scale) for p in motion.unet.attn_processors.values() if hasattr(p, "scale")}
    assert scales == {(0.0,)}
    with torch.no_grad():
        a = motion._denoise(case["z"], case["t"], (text, image), case["structure"], torch.tensor([True]))
        b = motion._denoise(case["z"], case["t"], (text, torch.randn_like(image)), case["structure"],
                            torch.tensor([True]))
    assert torch.equal(a, b)
    motion.prepare_conditioning(with_image)
    assert {tuple(p.scale) for p in motion.unet.attn_processors.values() if hasattr(p, "scale")} == {(0.7,)}


def test_a_folder_written_by_the_download_code_loads_back_with_identical_outputs(motion, case, tmp_path):
    target = str(tmp_path / "animatediff")
    save_preset(PRESETS["tiny-animatediff"], target)
    ref = describe_model(target)
    assert ref.pipeline == "MotionDepthPipeline" and ref.settings["window_length"] == 8
    loaded = load_pipeline(target, device="cpu")
    frames = case["frames"]
    assert np.array_equal(loaded(frames, prompt="x", image_prompt=frames[0], seed=3).frames,
                          motion(frames, prompt="x", image_prompt=frames[0], seed=3).frames)


def test_long_shots_use_the_shared_windows(motion):
    out = motion(synthetic_frames(20, 32, 32), prompt="x", seed=1)
    assert out.frames.shape == (20, 32, 32, 3) and out.stats.clip_passes > out.stats.steps * 2


def test_the_download_code_writes_to_a_bucket_too(motion, case, tmp_path, monkeypatch):
    import fsspec

    monkeypatch.setattr("gen1_batch.model.loading.CACHE_DIR", str(tmp_path / "cache"))
    save_preset(PRESETS["tiny-animatediff"], "memory://models/animatediff")
    try:
        loaded = load_pipeline("memory://models/animatediff", device="cpu")
        frames = case["frames"]
        assert np.array_equal(loaded(frames, prompt="x", seed=2).frames, motion(frames, prompt="x", seed=2).frames)
    finally:
        fsspec.filesystem("memory").rm("/models/animatediff", recursive=True)
