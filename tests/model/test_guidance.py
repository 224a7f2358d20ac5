from types import SimpleNamespace

import pytest
import torch

from gen1_batch.model.guidance import (
    IMAGE_NULL,
    VIDEO_CONTENT,
    VIDEO_NULL,
    guidance_weights,
    guided_prediction_reference,
)
from gen1_batch.model.sampler import SamplingStats, guided_window_prediction


@pytest.fixture(scope="module")
def case(tiny):
    g = torch.Generator().manual_seed(1)
    case = SimpleNamespace(z=torch.randn(1, 4, 6, 8, 8, generator=g), s=torch.randn(1, 4, 6, 8, 8, generator=g),
                           c=torch.randn(1, 32, generator=g), null=torch.zeros(1, 32), t=torch.tensor(500))

    def denoiser(sample, t, content, structure, video):
        return tiny.unet(sample, t, content, structure, video=video).sample

    def guided(weights, max_batch=8, stats=None):
        with torch.no_grad():
            return guided_window_prediction(denoiser, case.z, case.t, case.s, case.c, case.null, [0], 6, weights,
                                            "pyramid", max_batch, stats)

    with torch.no_grad():
        case.passes = {
            VIDEO_CONTENT: tiny.unet(case.z, 500, case.c, case.s, video=True).sample,
            VIDEO_NULL: tiny.unet(case.z, 500, case.null, case.s, video=True).sample,
            IMAGE_NULL: tiny.unet(case.z, 500, case.null, case.s, video=False).sample,
        }
    case.guided = guided
    return case


@pytest.mark.parametrize("omega, omega_t", [(7.5, 0.0), (7.5, 1.0), (5.0, 1.5), (0.0, 2.0), (1.0, 0.5)])
def test_guided_prediction_is_the_papers_equation(case, omega, omega_t):
    p = case.passes
    expected = guided_prediction_reference(p[VIDEO_CONTENT], p[VIDEO_NULL], p[IMAGE_NULL], omega, omega_t)
    torch.testing.assert_close(case.guided(guidance_weights(omega, omega_t)), expected, rtol=1e-4, atol=1e-4)


def test_at_temporal_scale_0_the_base_is_the_image_model_on_each_frame(case):
    p = case.passes
    content_direction = 7.5 * (p[VIDEO_CONTENT] - p[VIDEO_NULL])
    torch.testing.assert_close(case.guided(guidance_weights(7.5, 0.0)) - content_direction, p[IMAGE_NULL],
                               rtol=1e-4, atol=1e-4)
    # Without content guidance, ε̃ is exactly the image model applied to each frame.
    torch.testing.assert_close(case.guided(guidance_weights(0.0, 0.0)), p[IMAGE_NULL], rtol=1e-5, atol=1e-5)


def test_at_temporal_scale_1_it_is_classifier_free_guidance_of_the_video_model(case):
    p = case.passes
    cfg = p[VIDEO_NULL] + 7.5 * (p[VIDEO_CONTENT] - p[VIDEO_NULL])
    torch.testing.assert_close(case.guided(guidance_weights(7.5, 1.0)), cfg, rtol=1e-4, atol=1e-4)


def test_at_temporal_scale_1_the_image_pass_is_skipped_with_an_identical_result(case):
    weights = guidance_weights(7.5, 1.0)
    assert IMAGE_NULL not in weights
    stats = SamplingStats()
    # One clip per network call, as the passes were computed: the skip changes nothing, bit for bit.
    p = case.passes
    long_way = 7.5 * p[VIDEO_CONTENT] + (1.0 - 7.5) * p[VIDEO_NULL] + 0.0 * p[IMAGE_NULL]
    assert torch.equal(case.guided(weights, max_batch=1, stats=stats), long_way)
    assert (stats.clip_passes, stats.image_frames) == (2, 0)


def test_the_video_passes_of_a_step_run_as_one_batched_forward_and_the_image_pass_as_another(case):
    stats = SamplingStats()
    case.guided(guidance_weights(7.5, 1.5), stats=stats)
    assert (stats.forwards, stats.clip_passes, stats.image_frames) == (2, 2, 6)


def test_weights_sum_to_one_for_any_scales():
    for omega in (0.0, 1.0, 7.5):
        for omega_t in (0.0, 1.0, 2.5):
            assert sum(guidance_weights(omega, omega_t).values()) == pytest.approx(1.0)
