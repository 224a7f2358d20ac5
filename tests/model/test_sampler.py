import pytest
import torch

from gen1_batch.model.guidance import guidance_weights, guided_prediction_reference
from gen1_batch.model.sampler import SamplingStats, guided_window_prediction
from gen1_batch.model.windows import blend_weights, window_starts


def windowed_reference(denoiser, z, t, s, content, null, starts, length, omega, omega_t):
    """The paper's equation on each window, every pass run on the window, then the windows' weighted
    mean per frame: what the sampler computed before the image pass was shared between windows."""
    total, weight = torch.zeros_like(z), torch.zeros(z.shape[2])
    w = blend_weights(length, "pyramid")
    for start in starts:
        clip, structure = z[:, :, start: start + length], s[:, :, start: start + length]
        vc, vn, im = (denoiser(clip, t, c, structure, torch.tensor([video]))
                      for c, video in ((content, True), (null, True), (null, False)))
        total[:, :, start: start + length] += guided_prediction_reference(vc, vn, im, omega, omega_t) * w.view(
            1, 1, -1, 1, 1)
        weight[start: start + length] += w
    return total / weight.view(1, 1, -1, 1, 1)


@pytest.mark.parametrize("omega, omega_t", [(5.0, 1.5), (7.5, 0.0), (0.0, 0.0), (2.0, 0.5)])
def test_the_image_pass_runs_once_per_frame_and_gives_the_windowed_equation(tiny, omega, omega_t):
    g = torch.Generator().manual_seed(3)
    frames, length = 12, 8
    z, s = torch.randn(1, 4, frames, 8, 8, generator=g), torch.randn(1, 4, frames, 8, 8, generator=g)
    content, null, t = torch.randn(1, 32, generator=g), torch.zeros(1, 32), torch.tensor(500)
    starts = window_starts(frames, length, 4)

    def denoiser(sample, t, c, structure, video):
        return tiny.unet(sample, t, c, structure, video=video).sample

    stats = SamplingStats()
    with torch.no_grad():
        guided = guided_window_prediction(denoiser, z, t, s, content, null, starts, length,
                                          guidance_weights(omega, omega_t), "pyramid", 8, stats)
        expected = windowed_reference(denoiser, z, t, s, content, null, starts, length, omega, omega_t)
    torch.testing.assert_close(guided, expected, rtol=1e-4, atol=1e-4)
    assert stats.image_frames == frames  # one image-mode evaluation per frame, not one per window it sits in
    assert stats.clip_passes == len(starts) * len([p for p in guidance_weights(omega, omega_t) if p.video])


def test_a_network_call_holds_at_most_max_batch_windows_worth_of_frames():
    sizes = []

    def recording(x, t, content, structure, video):
        sizes.append(x.shape[0] * x.shape[2])
        return x * 0.5

    z = torch.zeros(1, 4, 40, 2, 2)
    guided_window_prediction(recording, z, torch.tensor(1), z, torch.zeros(1, 3), torch.zeros(1, 3),
                             window_starts(40, 8, 4), 8, guidance_weights(5.0, 1.5), "pyramid", 3)
    assert max(sizes) <= 3 * 8 and sum(sizes) == 9 * 2 * 8 + 40  # video passes of 9 windows, image pass once


def test_the_scheduler_is_stepped_on_host_timesteps_so_the_loop_never_waits_on_the_gpu():
    """DDIM indexes its tables with t and compares it: on a GPU tensor each is a device-to-host sync
    (5 a step, measured by benchmarks/gpu.py). The schedule must stay on the host."""
    from diffusers import DDIMScheduler

    from gen1_batch.model.sampler import sample
    from gen1_batch.model.windows import WindowSpec

    devices = []

    class Recording(DDIMScheduler):
        def set_timesteps(self, steps, device=None, **kwargs):
            devices.append(device)
            super().set_timesteps(steps, device=device, **kwargs)

        def step(self, model_output, timestep, sample, **kwargs):
            devices.append(timestep.device)
            return super().step(model_output, timestep, sample, **kwargs)

    structure = torch.zeros(1, 4, 4, 2, 2, device="meta")  # a device that is not the host, as a GPU
    sample(lambda x, t, c, s, v: x * 0.1, Recording(), structure, torch.zeros(1, 3), torch.zeros(1, 3), steps=3,
           content_scale=5.0, temporal_scale=1.0, window=WindowSpec(length=4, stride=2),
           generator=torch.Generator().manual_seed(0))
    assert devices[0] in (None, "cpu", torch.device("cpu"))
    assert all(d == torch.device("cpu") for d in devices[1:]) and len(devices) == 4
