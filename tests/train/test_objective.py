import numpy as np
import torch

from gen1_batch.train.objective import (
    clip_frames,
    content_of,
    crop_and_flip,
    draw,
    is_image_step,
    noise_like,
    noisy_and_target,
)

KW = dict(kind="video", rows=5, frames=8, flip=True, structure="uniform", content_dropout=0.1, train_timesteps=1000)


def test_draws_are_a_function_of_seed_step_rank_and_slot_only():
    assert draw(0, 7, 1, 0, **KW) == draw(0, 7, 1, 0, **KW)
    others = {draw(0, 7, 1, 1, **KW), draw(0, 8, 1, 0, **KW), draw(0, 7, 0, 0, **KW), draw(1, 7, 1, 0, **KW)}
    assert draw(0, 7, 1, 0, **KW) not in others and len(others) == 4
    assert torch.equal(noise_like(torch.zeros(2, 3), 5), noise_like(torch.zeros(2, 3), 5))


def test_the_papers_probabilities_hold_over_many_draws():
    draws = [draw(0, s, 0, 0, **KW) for s in range(4000)]
    assert abs(np.mean([d.drop_content for d in draws]) - 0.1) < 0.02
    assert sorted({d.structure_level for d in draws}) == list(range(8))
    assert abs(np.mean([is_image_step(0, s, 0.125) for s in range(4000)]) - 0.125) < 0.02
    fixed = draw(0, 3, 0, 0, **{**KW, "structure": 0})
    assert fixed.structure_level == 0 and draw(0, 3, 0, 0, **{**KW, "structure": "none"}).structure_level is None


def test_clips_are_8_frames_stride_apart_and_fit_short_videos():
    assert clip_frames(100, 8, 4, 0.0) == list(range(0, 29, 4))
    assert clip_frames(100, 8, 4, 0.999)[-1] == 99
    assert clip_frames(15, 8, 4, 0.0) == list(range(0, 15, 2))  # the largest stride that fits
    assert clip_frames(7, 8, 4, 0.5) is None


def test_v_prediction_target_is_diffusers_velocity_and_epsilon_is_the_noise():
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(prediction_type="v_prediction")
    z, eps, t = torch.randn(3, 4, 2, 4, 4), torch.randn(3, 4, 2, 4, 4), torch.tensor([0, 500, 999])
    noisy, v = noisy_and_target(z, eps, t, scheduler.alphas_cumprod, "v_prediction")
    torch.testing.assert_close(noisy, scheduler.add_noise(z, eps, t))
    torch.testing.assert_close(v, scheduler.get_velocity(z, eps, t))
    assert torch.equal(noisy_and_target(z, eps, t, scheduler.alphas_cumprod, "epsilon")[1], eps)


def test_dropped_content_is_the_null_content_the_pipeline_samples_with():
    embeddings = torch.randn(8, 32)
    assert torch.equal(content_of(embeddings, 3, False), embeddings[3])
    assert not content_of(embeddings, 3, True).any()


def test_crops_are_the_recipe_size_and_flips_mirror():
    frames = np.arange(2 * 10 * 12 * 3).reshape(2, 10, 12, 3).astype(np.uint8)
    crop = crop_and_flip(frames, 8, 6, 1.0, 0.0, False)
    assert crop.shape == (2, 6, 8, 3) and np.array_equal(crop, frames[:, :6, 4:])
    assert np.array_equal(crop_and_flip(frames, 8, 6, 1.0, 0.0, True), crop[:, :, ::-1])
