"""The denoising loop: guided predictions over overlapping windows, blended, one scheduler step per step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from diffusers import SchedulerMixin

from gen1_batch.model.guidance import IMAGE_NULL, GuidancePass, combine, guidance_weights
from gen1_batch.model.windows import WindowSpec, blend_weights, initial_noise, window_plan

# Content for one or more clips: a tensor with clips on dim 0, or a tuple of such tensors (None for
# a part a model leaves out). The sampler only ever stacks it along clips.
Conditioning = torch.Tensor | tuple[torch.Tensor | None, ...]
# (sample b×c×f×h×w, timestep, content for b clips, structure b×c×f×h×w, video flags b) -> prediction
Denoiser = Callable[[torch.Tensor, torch.Tensor, Conditioning, torch.Tensor, torch.Tensor], torch.Tensor]


def stack_clips(parts: list[Conditioning]) -> Conditioning:
    """Conditioning of several clips as one batch."""
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return tuple(None if p[0] is None else torch.cat(p) for p in zip(*parts, strict=True))


@dataclass
class SamplingStats:
    """What the loop did, for reports and benchmarks."""

    steps: int = 0
    forwards: int = 0  # network calls
    clip_passes: int = 0  # window × video-mode guidance pass evaluations
    image_frames: int = 0  # image-mode frame evaluations (ε^π): one per frame per step when ω_t ≠ 1


def image_prediction(denoiser: Denoiser, latents: torch.Tensor, t: torch.Tensor, structure: torch.Tensor,
                     null: Conditioning, frames_per_call: int, stats: SamplingStats | None = None) -> torch.Tensor:
    """ε^π(z, ∅, s) of every frame of the shot, each frame once: in image mode a frame does not see
    its neighbours, so which windows it sits in does not matter. Frames go through the network as
    one-frame clips, `frames_per_call` at a time."""
    frames = latents.shape[2]
    as_clips = latents[0].transpose(0, 1).unsqueeze(2)  # f×c×1×h×w
    structure_clips = structure[0].transpose(0, 1).unsqueeze(2)
    out = torch.empty_like(as_clips)
    for i in range(0, frames, frames_per_call):
        n = min(frames_per_call, frames - i)
        video = torch.zeros(n, dtype=torch.bool)  # flags stay on the host (unet.py)
        out[i: i + n] = denoiser(as_clips[i: i + n], t, stack_clips([null] * n), structure_clips[i: i + n], video)
        if stats:
            stats.forwards += 1
            stats.image_frames += n
    return out.squeeze(2).transpose(0, 1).unsqueeze(0)  # 1×c×f×h×w


def guided_window_prediction(denoiser: Denoiser, latents: torch.Tensor, t: torch.Tensor, structure: torch.Tensor,
                             content: Conditioning, null: Conditioning, starts: list[int], length: int,
                             weights: dict[GuidancePass, float], blend: str, max_batch: int,
                             stats: SamplingStats | None = None) -> torch.Tensor:
    """ε̃ for the whole shot: every (window, video pass) pair is evaluated, up to `max_batch` clips per
    network call; each window's passes are combined by the guidance weights and blended into the
    shot as soon as they are in, so memory holds one call's outputs, not the whole step's. The
    image pass ε^π, the same for a frame in every window, is evaluated once per frame and added
    after the blend (the blend is a weighted mean, so adding it to every window or once is the same).

    The blend is the per-frame weighted mean of the windows' predictions, computed as an offset from
    the first window that covers each frame: Σw(v − v₀)/Σw + v₀. Windows that agree (a model
    without temporal mixing) then give exactly their common value, as one window would.
    """
    image_weight = weights.get(IMAGE_NULL, 0.0)
    image = (image_weight * image_prediction(denoiser, latents, t, structure, null, max_batch * length, stats)
             if image_weight else None)
    passes = [p for p in weights if p.video]
    if not passes:  # ω = 0 and ω_t = 0: the image model alone
        return image
    whole_shot = len(starts) == 1 and length == latents.shape[2]
    w = blend_weights(length, blend, latents.device).to(latents.dtype).view(1, 1, length, 1, 1)
    first = torch.zeros_like(latents)  # v₀: the first prediction of each frame
    offset = torch.zeros_like(latents)
    weight_sum = torch.zeros((1, 1, latents.shape[2], 1, 1), device=latents.device, dtype=latents.dtype)
    covered = 0  # frames [0, covered) have their v₀; windows come in order of start
    jobs = [(s, p) for s in starts for p in passes]
    window: dict[GuidancePass, torch.Tensor] = {}
    for i in range(0, len(jobs), max_batch):
        chunk = jobs[i: i + max_batch]
        sample = torch.cat([latents[:, :, s: s + length] for s, _ in chunk])
        cond = torch.cat([structure[:, :, s: s + length] for s, _ in chunk])
        emb = stack_clips([content if p.content else null for _, p in chunk])
        video = torch.tensor([p.video for _, p in chunk])
        predictions = denoiser(sample, t, emb, cond, video).split(1)
        if stats:
            stats.forwards += 1
            stats.clip_passes += len(chunk)
        for (s, p), prediction in zip(chunk, predictions, strict=True):
            window[p] = prediction
            if len(window) < len(passes):
                continue
            guided = combine(window, {p: weights[p] for p in passes})
            window = {}
            if whole_shot:
                return guided if image is None else guided + image
            if s + length > covered:
                first[:, :, max(covered, s): s + length] = guided[:, :, max(covered, s) - s:]
                covered = s + length
            offset[:, :, s: s + length] += (guided - first[:, :, s: s + length]) * w
            weight_sum[:, :, s: s + length] += w
    video = first + offset / weight_sum
    return video if image is None else video + image


@torch.no_grad()
def sample(denoiser: Denoiser, scheduler: SchedulerMixin, structure: torch.Tensor, content: Conditioning,
           null: Conditioning, *, steps: int, content_scale: float, temporal_scale: float,
           window: WindowSpec, generator: torch.Generator, max_batch: int = 8,
           latent_shape: tuple[int, ...] | None = None, latents: torch.Tensor | None = None,
           stats: SamplingStats | None = None) -> torch.Tensor:
    """Denoise a whole shot from seeded noise of `latent_shape` (default: the structure's), or from
    `latents`, pre-generated noise. structure: 1×c×f×h×w, frames on dim 2; content, null: one clip's."""
    num_frames = structure.shape[2]
    # The schedule stays on the host: schedulers index their tables with t and compare it, which on
    # a GPU tensor is a device-to-host sync each time (5 a step for DDIM). The network gets t from
    # a copy made once, so the loop itself moves nothing between host and device.
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps
    device_timesteps = timesteps.to(structure.device)
    if latents is None:
        latents = initial_noise(latent_shape or tuple(structure.shape), window, generator)
    latents = latents.to(structure.device, structure.dtype) * scheduler.init_noise_sigma
    weights = guidance_weights(content_scale, temporal_scale)
    plan = window_plan(num_frames, window, len(timesteps))
    length = min(window.length, num_frames)
    for i, t in enumerate(timesteps):
        model_input = scheduler.scale_model_input(latents, t)
        prediction = guided_window_prediction(denoiser, model_input, device_timesteps[i], structure, content, null,
                                              plan[i], length, weights, window.blend, max_batch, stats)
        latents = scheduler.step(prediction, t, latents, generator=generator).prev_sample
        if stats:
            stats.steps += 1
    return latents
