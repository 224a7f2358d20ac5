import dataclasses
import itertools

import numpy as np
import pytest
import torch

from gen1_batch.train.objective import (
    autoencoder_loss,
    clip_frames,
    content_of,
    contrastive_loss,
    crop_and_flip,
    depth_loss,
    draw,
    ema_decay,
    ema_update,
    gradient_matching_loss,
    is_image_step,
    learning_rate,
    mask_weights,
    min_snr_weights,
    noise_like,
    noisy_and_target,
    scale_shift_invariant_mse,
    spread_timestep,
    weighted_mse,
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


def test_logit_normal_timesteps_change_only_the_timestep_of_each_draw():
    spread = {**KW, "logit_normal": (0.5, 1.0)}
    for step in range(50):
        uniform, moved = draw(3, step, 0, 1, **KW), draw(3, step, 0, 1, **spread)
        assert dataclasses.replace(moved, timestep=uniform.timestep) == uniform
        assert moved.timestep == spread_timestep(uniform.timestep, 1000, (0.5, 1.0))
    ranks = [spread_timestep(t, 1000, (0.5, 1.0)) for t in range(1000)]
    assert ranks == sorted(ranks) and ranks[0] >= 0 and ranks[-1] <= 999  # the same order, inside the schedule


def test_logit_normal_timesteps_have_the_density_diffusers_sd3_scripts_draw():
    from diffusers.training_utils import compute_density_for_timestep_sampling

    ours = np.array([draw(0, s, 0, 0, **KW, logit_normal=(0.5, 1.0)).timestep for s in range(4000)])
    theirs = (compute_density_for_timestep_sampling("logit_normal", 200_000, logit_mean=0.5, logit_std=1.0,
                                                    generator=torch.Generator().manual_seed(0)) * 1000).long().numpy()
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(np.quantile(ours, q) - np.quantile(theirs, q)) < 25
    assert (ours > 600).mean() > 0.5 > (np.array([draw(0, s, 0, 0, **KW).timestep for s in range(4000)]) > 600).mean()


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


def test_the_depth_loss_ignores_scale_and_shift_but_not_shape_or_sign():
    target = torch.rand(2, 8, 8)
    assert scale_shift_invariant_mse(3 * target + 5, target) < 1e-10
    assert scale_shift_invariant_mse(target.flip(-1), target) > 0.01
    assert scale_shift_invariant_mse(-target, target) > 3  # far = high is wrong, not equivalent


def test_the_depth_loss_asks_for_sharp_object_edges_not_only_a_low_mse():
    """A depth map with the box on the floor blurred scores as well under MSE alone as a sharp map
    of a slightly tilted floor; with MiDaS's gradient matching the blurred edges cost more, so the
    estimator learns where objects stand, not just the floor's gradient."""
    rows = torch.linspace(0, 1, 32)[:, None].expand(32, 32)
    cols = torch.linspace(0, 1, 32)[None, :].expand(32, 32)
    truth = rows.clone()
    truth[10:16, 12:18] = 0.9  # a near box (near = high) against the floor's far rows
    truth = truth[None]
    blurred = torch.nn.functional.avg_pool2d(truth[None], 5, 1, 2, count_include_pad=False)[0]
    tilt = 0.0
    while scale_shift_invariant_mse(truth + tilt * cols, truth) < scale_shift_invariant_mse(blurred, truth):
        tilt += 0.005
    tilted = truth + tilt * cols
    assert depth_loss(blurred, truth) > 1.5 * depth_loss(tilted, truth)
    assert gradient_matching_loss(3 * truth + 1, truth) < 1e-5  # blind to scale and shift too
    assert gradient_matching_loss(-truth, truth) > 0.1  # and not to the sign


def test_the_contrastive_loss_is_low_for_matching_pairs_and_ignores_equal_captions():
    embeds = torch.eye(4)
    scale = torch.tensor(np.log(10.0))
    assert contrastive_loss(embeds, embeds, scale) < contrastive_loss(embeds, embeds.roll(1, 0), scale)
    twins = torch.tensor([[1.0, 0], [1.0, 0]])  # two samples with one caption: not each other's negatives
    same = torch.ones(2, 2, dtype=torch.bool)
    assert contrastive_loss(twins, twins, scale, same) < 1e-3 < contrastive_loss(twins, twins, scale)


def test_the_autoencoder_loss_is_reconstruction_plus_a_small_kl_to_the_unit_gaussian():
    x = torch.rand(2, 3, 4, 4)
    zero = torch.zeros(2, 4, 2, 2)
    assert autoencoder_loss(x, x, zero, zero, 1.0) == 0  # a perfect reconstruction from N(0, 1)
    assert autoencoder_loss(x, x, zero + 1, zero, 1e-6) == pytest.approx(1e-6 * 0.5 * 16, rel=1e-5)
    assert autoencoder_loss(x + 0.5, x, zero, zero, 1.0) == pytest.approx(0.5)


def test_the_prior_learns_the_clean_embedding():
    clean = torch.randn(3, 8)
    noise = torch.randn(3, 8)
    _, target = noisy_and_target(clean, noise, torch.tensor([0, 500, 999]), torch.linspace(0.99, 0.01, 1000),
                                 "sample")
    assert torch.equal(target, clean)


def test_the_ema_follows_the_weights_until_its_start_step_then_averages():
    ema, weights = [torch.zeros(3)], [torch.ones(3)]
    ema_update(ema, weights, ema_decay(0.9, step=4, start=5))
    assert torch.equal(ema[0], weights[0])
    ema_update(ema, [torch.full((3,), 3.0)], ema_decay(0.9, step=5, start=5))
    assert torch.allclose(ema[0], torch.full((3,), 0.9 * 1 + 0.1 * 3))


def test_the_learning_rate_warms_up_holds_then_decays_to_near_zero_over_the_last_steps():
    rates = [learning_rate(1.0, step, warmup=4, steps=20, decay=10) for step in range(20)]
    assert rates[:4] == [0.25, 0.5, 0.75, 1.0] and rates[3:11] == [1.0] * 8
    assert all(a > b for a, b in itertools.pairwise(rates[10:])) and rates[-1] == pytest.approx(0.1)
    assert learning_rate(1.0, 19, warmup=0, steps=20) == 1.0  # no decay: constant
    assert learning_rate(1.0, 5, warmup=0, steps=8, decay=100) == pytest.approx(3 / 8)  # decay over every step


def test_a_mask_weight_counts_errors_inside_the_mask_more_and_keeps_the_loss_scale():
    mask = torch.zeros(2, 16, 16)
    mask[:, :, :4] = 1  # a subject on the left quarter of the pixels: the first latent column of 4
    weight = mask_weights(mask, (4, 2, 4, 4), 5.0)
    assert weight.shape == (1, 2, 4, 4)
    assert torch.all(weight[..., 0] == 5) and torch.all(weight[..., 1:] == 1)
    prediction, target = torch.zeros(1, 4, 2, 4, 4), torch.zeros(1, 4, 2, 4, 4)
    inside, outside = target.clone(), target.clone()
    inside[..., 0], outside[..., 1] = 1.0, 1.0  # the same error, in the subject or beside it
    assert weighted_mse(prediction, inside, weight) > weighted_mse(prediction, inside) == 0.25
    assert weighted_mse(prediction, outside, weight) < weighted_mse(prediction, outside)
    everywhere = torch.ones_like(target)
    assert weighted_mse(prediction, everywhere, weight) == weighted_mse(prediction, everywhere) == 1.0
    assert torch.equal(mask_weights(None, (4, 2, 4, 4), 5.0), torch.ones(1, 2, 4, 4))


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_min_snr_weights_are_the_ones_diffusers_training_scripts_use(prediction_type):
    from diffusers import DDPMScheduler
    from diffusers.training_utils import compute_snr

    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                              prediction_type=prediction_type)
    timesteps = torch.tensor([0, 10, 100, 300, 600, 999])
    snr = compute_snr(scheduler, timesteps)  # as train_text_to_image.py's --snr_gamma 5
    expected = torch.stack([snr, 5.0 * torch.ones_like(timesteps)], dim=1).min(dim=1)[0]
    expected = expected / snr if prediction_type == "epsilon" else expected / (snr + 1)
    weights = min_snr_weights(timesteps, scheduler.alphas_cumprod, 5.0, prediction_type)
    torch.testing.assert_close(weights, expected)
    assert weights[0] < weights[2] and weights.max() <= 1  # near-clean timesteps count least, none more than 1


def test_sample_weights_scale_each_samples_error_and_leave_the_others_alone():
    prediction, target = torch.zeros(2, 4, 2, 4, 4), torch.ones(2, 4, 2, 4, 4)
    assert weighted_mse(prediction, target, sample_weight=torch.ones(2)) == weighted_mse(prediction, target) == 1.0
    assert weighted_mse(prediction, target, sample_weight=torch.tensor([0.5, 0.0])) == 0.25  # not renormalised
    target[1] = 3.0  # the second sample errs 9 times as much: its weight alone moves the loss
    assert weighted_mse(prediction, target, sample_weight=torch.tensor([1.0, 0.0])) == 0.5
