import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.presets import TINY_CONFIGS
from gen1_batch.model.sampler import SamplingStats, sample
from gen1_batch.model.windows import (
    WindowSpec,
    blend_weights,
    describe_plan,
    initial_noise,
    window_plan,
    window_starts,
)

# (frames N, window W, stride S): N < W, N = W, N = W + 1, N prime, S = W (no overlap), S = 1.
EDGE_CASES = [(5, 8, 4), (8, 8, 4), (9, 8, 4), (37, 8, 4), (37, 8, 8), (23, 8, 1), (41, 7, 3), (1, 8, 4)]


@pytest.mark.parametrize("n, w, s", EDGE_CASES)
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_windows_cover_every_frame_inside_the_shot_and_the_last_ends_at_the_end(n, w, s, offset):
    length = min(w, n)
    starts = window_starts(n, length, min(s, length), offset)
    covered = np.zeros(n, bool)
    for start in starts:
        assert start >= 0 and start + length <= n
        covered[start: start + length] = True
    assert covered.all() and starts[0] == 0 and starts[-1] + length == n
    assert starts == sorted(set(starts))
    if n <= w:
        assert starts == [0]  # one window of the shot's own length


def per_frame_model(x, t, content, structure, video):
    """Depends on each frame alone (no temporal mixing) and is batch-invariant (elementwise)."""
    return torch.sin(1.3 * x + 0.7 * structure + 1e-3 * t.float()) * (1 + content.mean(1).view(-1, 1, 1, 1, 1))


def run(n, spec, temporal_scale=1.0, steps=4, model=per_frame_model, latents=None, max_batch=8, stats=None):
    g = torch.Generator().manual_seed(n)
    structure = torch.randn(1, 4, n, 4, 4, generator=g)
    content, null = torch.randn(1, 8, generator=g), torch.zeros(1, 8)
    scheduler = DDIMScheduler(**TINY_CONFIGS["scheduler"])
    return sample(model, scheduler, structure, content, null, steps=steps, content_scale=5.0,
                  temporal_scale=temporal_scale, window=spec, generator=torch.Generator().manual_seed(7),
                  latents=latents, max_batch=max_batch, stats=stats)


@pytest.mark.parametrize("n, w, s", EDGE_CASES)
@pytest.mark.parametrize("blend, shift", [("pyramid", True), ("flat", False), ("gaussian", True)])
def test_with_a_per_frame_model_windows_give_exactly_the_single_window_result(n, w, s, blend, shift):
    single = run(n, WindowSpec(length=max(n, 1), stride=1, blend=blend, shift=False))
    windowed = run(n, WindowSpec(length=w, stride=min(s, w), blend=blend, shift=shift), max_batch=3)
    assert torch.equal(windowed, single)


def test_exactness_holds_with_the_image_pass_too():
    n = 29
    assert torch.equal(run(n, WindowSpec(6, 4), temporal_scale=1.7), run(n, WindowSpec(n, 1), temporal_scale=1.7))


def test_device_batches_are_bounded_by_the_window_batch_not_the_shot_length():  # in frames: what memory needs
    sizes = []

    def recording(x, t, content, structure, video):
        sizes.append(tuple(x.shape[:3]))
        return per_frame_model(x, t, content, structure, video)

    for n in (20, 200):
        sizes.clear()
        stats = SamplingStats()
        run(n, WindowSpec(8, 4), temporal_scale=1.5, model=recording, max_batch=5, stats=stats)
        assert max(b * f for b, _, f in sizes) <= 5 * 8 and max(f for _, _, f in sizes) == 8
        assert stats.clip_passes == sum(b for b, _, f in sizes if f == 8)
        assert stats.image_frames == sum(b for b, _, f in sizes if f == 1) == n * 4


def test_blend_weights_are_positive_and_peak_in_the_middle():
    for blend in ("pyramid", "gaussian"):
        w = blend_weights(9, blend)
        assert (w > 0).all() and w.argmax() == 4 and torch.equal(w, w.flip(0))
    assert torch.equal(blend_weights(4, "flat"), torch.ones(4))
    assert blend_weights(8, "pyramid").tolist() == [1, 2, 3, 4, 4, 3, 2, 1]


def test_shifting_moves_every_seam_not_forced_by_the_shots_ends():
    n, w = 100, 8
    plan = window_plan(n, WindowSpec(w, 4, shift=True), steps=8)
    seams = [{s for s in starts if s > 0} | {s + w for s in starts if s + w < n} for starts in plan]
    # Only the first window's end and the last window's start stay: both windows must lie in the shot.
    assert set.intersection(*seams) == {w, n - w}
    still = window_plan(100, WindowSpec(8, 4, shift=False), steps=8)
    assert all(starts == still[0] for starts in still)


def test_free_noise_repeats_one_window_of_noise_shuffled():
    spec = WindowSpec(8, 4, free_noise=True)
    noise = initial_noise((1, 2, 30, 3, 3), spec, torch.Generator().manual_seed(0))
    base = {tuple(noise[0, :, i].flatten().tolist()) for i in range(8)}
    assert all(tuple(noise[0, :, i].flatten().tolist()) in base for i in range(30))
    assert not torch.equal(noise[:, :, 8:12], noise[:, :, 0:4])  # shuffled, not tiled
    assert torch.equal(noise, initial_noise((1, 2, 30, 3, 3), spec, torch.Generator().manual_seed(0)))
    plain = initial_noise((1, 2, 30, 3, 3), WindowSpec(8, 4), torch.Generator().manual_seed(0))
    assert len({tuple(plain[0, :, i].flatten().tolist()) for i in range(30)}) == 30


def test_the_plan_summary_reports_windows_and_work_per_frame():
    plan = describe_plan(37, WindowSpec(8, 4, shift=False), steps=4)
    assert plan["windows_per_step"] == 9 and plan["first_step_starts"][-1] == 29
    assert plan["frame_evaluations_per_step"] == pytest.approx(9 * 8 / 37, abs=1e-3)


def test_blending_hides_window_seams_on_the_tiny_model(tiny):
    """Consecutive frames change no more across window boundaries than inside windows with pyramid
    blending (within 25%), and clearly more (over 1.5×) without overlap.

    Every frame starts from the same noise here: the tiny model's random weights cannot cancel
    independent per-frame noise (DDIM carries it to the end), which would hide the effect of the
    windows; with shared noise, frames differ only through what the model and the windows do.
    """
    n, w = 40, 8
    depth = tiny.estimate_depth(synthetic_frames(n, 64, 48, seed=2))
    structure = tiny.encode_structure(depth, 2)
    content, null = tiny.prepare_conditioning(tiny.encode_content("a street"))

    def denoise(x, t, c, s, video):
        return tiny.unet(x, t, c, s, video=video).sample

    def boundary_over_inside(spec, seed):
        noise = torch.randn(1, 4, 1, *structure.shape[3:], generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            z = sample(denoise, DDIMScheduler(**TINY_CONFIGS["scheduler"]), structure, content, null, steps=4,
                       content_scale=7.5, temporal_scale=1.0, window=spec, generator=torch.Generator(),
                       latents=noise.expand(-1, -1, n, -1, -1))
        change = (z[:, :, 1:] - z[:, :, :-1]).abs().mean(dim=(0, 1, 3, 4))
        starts = window_starts(n, w, spec.stride)
        boundary = {s - 1 for s in starts if s > 0} | {s + w - 1 for s in starts if s + w < n}
        inside = [i for i in range(n - 1) if i not in boundary]
        return (change[sorted(boundary)].mean() / change[inside].mean()).item()

    for seed in range(2):
        blended = boundary_over_inside(WindowSpec(w, 4, "pyramid", shift=False), seed)
        separate = boundary_over_inside(WindowSpec(w, w, "flat", shift=False), seed)
        assert blended <= 1.25 and separate >= 1.5, (blended, separate)
