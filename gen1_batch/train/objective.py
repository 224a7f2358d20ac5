"""The training maths of the paper, as pure functions (no Ray, no I/O).

Every random choice is a function of (seed, step, rank, slot): which row a sample comes from, where
its clip starts, its crop and flip, its content frame, t_s, content dropout, timestep and noise. So
a run resumed from a checkpoint at step k draws exactly what an uninterrupted run draws from step
k on, whatever the number of restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch

from gen1_batch.model.structure import MAX_STRUCTURE_LEVEL

VIDEO, IMAGE = "video", "image"


def rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for one (seed, step, rank, slot, …) key."""
    return np.random.default_rng([seed, *keys])


def is_image_step(seed: int, step: int, image_probability: float) -> bool:
    """Whether step `step` trains on images (1-frame clips, image mode); the same on every worker, so
    the UNet runs the same layers everywhere and DDP's gradient buckets match."""
    return bool(rng(seed, step, 0x1A6E).random() < image_probability)


@dataclass(frozen=True)
class Draw:
    """The random choices for one sample (slot `slot` of worker `rank` at step `step`)."""

    kind: str  # video | image
    row: int  # index into the rows of that kind (or, for images with no image rows, into the videos)
    clip_start: float  # in [0, 1): where the clip starts among the possible starts
    crop_x: float  # in [0, 1]: where the crop is among the possible offsets
    crop_y: float
    flip: bool
    content_frame: int  # which frame of the clip gives the content embedding
    structure_level: int | None  # t_s; None: no structure input
    drop_content: bool  # content replaced by ∅
    timestep: int
    noise_seed: int


def spread_timestep(uniform: int, train_timesteps: int, logit_normal: tuple[float, float] | None) -> int:
    """A uniformly drawn timestep, or with `logit_normal` (mean, std) moved to that density (SD3's
    `--weighting_scheme logit_normal`: t/T = sigmoid(N(mean, std))) through its inverse CDF, so a run
    with it draws the same samples and noise as a uniform one and its timesteps in the same order."""
    if logit_normal is None:
        return uniform
    mean, std = logit_normal
    u = (uniform + 0.5) / train_timesteps
    x = 1 / (1 + math.exp(-(mean + std * NormalDist().inv_cdf(u))))
    return min(int(x * train_timesteps), train_timesteps - 1)


def draw(seed: int, step: int, rank: int, slot: int, *, kind: str, rows: int, frames: int, flip: bool,
         structure: int | str, content_dropout: float, train_timesteps: int,
         logit_normal: tuple[float, float] | None = None) -> Draw:
    """The random choices of one sample; `rows` is how many rows the sample may come from.
    `logit_normal` (mean, std): timesteps from that density rather than uniform."""
    r = rng(seed, step, rank, slot)
    if structure == "uniform":
        level: int | None = int(r.integers(0, MAX_STRUCTURE_LEVEL + 1))
    else:
        r.integers(0, MAX_STRUCTURE_LEVEL + 1)  # drawn anyway, so other choices do not shift with the recipe
        level = None if structure == "none" else int(structure)
    return Draw(
        kind=kind, row=int(r.integers(0, rows)), clip_start=float(r.random()), crop_x=float(r.random()),
        crop_y=float(r.random()), flip=bool(flip and r.random() < 0.5),
        content_frame=int(r.integers(0, frames if kind == VIDEO else 1)), structure_level=level,
        drop_content=bool(r.random() < content_dropout),
        timestep=spread_timestep(int(r.integers(0, train_timesteps)), train_timesteps, logit_normal),
        noise_seed=int(r.integers(0, 2**62)),
    )


def clip_frames(length: int, frames: int, stride: int, start: float) -> list[int] | None:
    """Indices of `frames` frames `stride` apart in a video of `length` frames, starting at fraction
    `start` of the possible starts. A video too short for the stride gets the largest stride that
    fits; one shorter than `frames` gives None."""
    if length < frames:
        return None
    stride = max(1, min(stride, (length - 1) // (frames - 1)))
    span = (frames - 1) * stride + 1
    first = min(int(start * (length - span + 1)), length - span)
    return [first + i * stride for i in range(frames)]


def cover_size(width: int, height: int, crop_w: int, crop_h: int) -> tuple[int | None, int | None]:
    """The working size (either side None: keep the aspect) that covers a crop_w × crop_h crop."""
    return (None, crop_h) if width * crop_h >= height * crop_w else (crop_w, None)


def crop_and_flip(frames: np.ndarray, crop_w: int, crop_h: int, x: float, y: float, flip: bool) -> np.ndarray:
    """A crop_w × crop_h window of f×h×w×c frames at fractions (x, y) of the free room, mirrored if `flip`."""
    h, w = frames.shape[1:3]
    if h < crop_h or w < crop_w:
        raise ValueError(f"frames of {w}×{h} are smaller than the crop {crop_w}×{crop_h}")
    top, left = round(y * (h - crop_h)), round(x * (w - crop_w))
    out = frames[:, top: top + crop_h, left: left + crop_w]
    return np.ascontiguousarray(out[:, :, ::-1] if flip else out)


def noise_like(latents: torch.Tensor, noise_seed: int) -> torch.Tensor:
    generator = torch.Generator("cpu").manual_seed(noise_seed)
    return torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents.device, latents.dtype)


def noisy_and_target(latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor,
                     alphas_cumprod: torch.Tensor, prediction_type: str) -> tuple[torch.Tensor, torch.Tensor]:
    """z_t = √ᾱ_t·z₀ + √(1−ᾱ_t)·ε, and what the network learns to predict: ε, or v = √ᾱ_t·ε − √(1−ᾱ_t)·z₀
    (diffusers' convention). latents, noise: b×…; timesteps: b."""
    a = alphas_cumprod.to(latents.device, torch.float32)[timesteps].view(-1, *[1] * (latents.ndim - 1))
    sqrt_a, sqrt_1a = a.sqrt(), (1 - a).sqrt()
    noisy = sqrt_a * latents + sqrt_1a * noise
    if prediction_type == "epsilon":
        target = noise
    elif prediction_type == "sample":  # x₀-prediction, as unCLIP's prior learns
        target = latents
    elif prediction_type == "v_prediction":
        target = sqrt_a * noise - sqrt_1a * latents
    else:
        raise ValueError(f"cannot train a {prediction_type!r} scheduler; use epsilon, v_prediction or sample")
    return noisy.to(latents.dtype), target.to(latents.dtype)


def content_of(embeddings: torch.Tensor, frame: int, drop: bool) -> torch.Tensor:
    """The content c of a sample: the CLIP image embedding of one frame, or ∅ — zero, the null content
    the pipeline samples with (Gen1Pipeline.encode_content) — when dropped."""
    c = embeddings[frame]
    return torch.zeros_like(c) if drop else c


def mask_weights(mask: torch.Tensor | None, latent_shape: tuple[int, ...], weight: float) -> torch.Tensor:
    """One sample's loss weight per latent (1×f×h×w, broadcast over channels): `weight` where its pixel
    mask (f×H×W in [0, 1]) covers the latent's pixels, 1 where it does not, the covered share between;
    all 1 without a mask. Small subjects are a few latents of the mean: this asks the UNet for them."""
    import torch.nn.functional as F

    f, h, w = latent_shape[-3:]
    if mask is None:
        return torch.ones(1, f, h, w)
    covered = F.adaptive_avg_pool2d(mask.float()[:, None], (h, w))[:, 0]
    return (1 + (weight - 1) * covered)[None]


def min_snr_weights(timesteps: torch.Tensor, alphas_cumprod: torch.Tensor, gamma: float,
                    prediction_type: str) -> torch.Tensor:
    """Min-SNR-γ (Hang et al. 2023), one weight per sample: min(SNR_t, γ) divided by the weight the
    prediction type already puts on the x₀ error (SNR for ε, SNR + 1 for v), as diffusers' training
    scripts do. SNR_t = ᾱ_t / (1 − ᾱ_t)."""
    a = alphas_cumprod.to(timesteps.device, torch.float32)[timesteps]
    snr = a / (1 - a)
    clipped = snr.clamp(max=gamma)
    if prediction_type == "epsilon":
        return clipped / snr
    if prediction_type == "v_prediction":
        return clipped / (snr + 1)
    raise ValueError(f"min-SNR weighs ε or v predictions, not {prediction_type!r}")


def weighted_mse(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                 sample_weight: torch.Tensor | None = None) -> torch.Tensor:
    """The mean squared error, each element counted `weight` times (broadcast); the weights' mean
    divides, so the loss keeps its scale whatever the masks cover. `sample_weight` (one per sample,
    min-SNR) multiplies each sample's error as it is, not renormalised: its scale is what it weighs."""
    error = (prediction.float() - target.float()).pow(2)
    if sample_weight is not None:
        weight = torch.ones_like(error) if weight is None else weight.to(error.device, error.dtype).expand_as(error)
        per_sample = (weight * error).flatten(1).sum(1) / weight.flatten(1).sum(1)
        return (sample_weight.to(error.device, error.dtype) * per_sample).mean()
    if weight is None:
        return error.mean()
    weight = weight.to(error.device, error.dtype).expand_as(error)
    return (weight * error).sum() / weight.sum()


def learning_rate(base: float, step: int, warmup: int, steps: int, decay: int = 0) -> float:
    """Linear warm-up to `base`, constant, then (with `decay` > 0) linearly down to 0 over the last
    `decay` of `steps` steps: warm-up, stable, decay. A constant rate leaves the weights wherever its
    noise last put them; the decay settles them. A resumed run gets the same rate at the same step."""
    rate = base * min(1.0, (step + 1) / warmup) if warmup > 0 else base
    if decay > 0:
        rate *= min(1.0, (steps - step) / min(decay, steps))
    return rate


def ema_decay(decay: float, step: int, start: int) -> float:
    """The EMA's decay at `step`: 0 before `start` (it follows the weights), then `decay`."""
    return decay if step >= start else 0.0


@torch.no_grad()
def ema_update(ema: list[torch.Tensor], params: list[torch.Tensor], decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·θ."""
    for e, p in zip(ema, params, strict=True):
        e.mul_(decay).add_(p.detach().to(e.dtype), alpha=1 - decay)


# ------------------------------------------------------------------------------- the stack's other models

def autoencoder_loss(reconstruction: torch.Tensor, pixels: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                     kl_weight: float) -> torch.Tensor:
    """L1 reconstruction plus a small KL to N(0, 1) (the latent diffusion paper's KL-regularised
    autoencoder, without its perceptual and adversarial terms). Tensors n×c×h×w."""
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)).mean()
    return (reconstruction - pixels).abs().mean() + kl_weight * kl


def _standardised(depth: torch.Tensor) -> torch.Tensor:
    """Each sample (first dim) to zero mean and unit deviation over its pixels."""
    flat = depth.flatten(1).float()
    flat = (flat - flat.mean(1, keepdim=True)) / flat.std(1, keepdim=True).clamp_min(1e-6)
    return flat.view_as(depth)


def scale_shift_invariant_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A loss for relative depth, blind to each sample's (first dim) scale and shift but not to its
    sign: both standardised (zero mean, unit deviation), then their mean squared difference. (A
    least-squares fitted scale, as in MiDaS, may come out negative, and a network trained with it
    can learn depth upside down, far = high: the first toy stack's did.)"""
    return (_standardised(prediction) - _standardised(target)).pow(2).mean()


def gradient_matching_loss(prediction: torch.Tensor, target: torch.Tensor, scales: int = 4) -> torch.Tensor:
    """MiDaS's multi-scale gradient matching (Ranftl et al. 2020) on n×h×w maps: the standardised
    difference should be flat, at every 2^k-th pixel for k < `scales`. An object's edges are a few
    pixels of the MSE but much of this term: without it a toy estimator learned the floor's gradient
    and blurred the objects standing on it."""
    return _gradient_matching(_standardised(prediction) - _standardised(target), scales)


def _gradient_matching(residual: torch.Tensor, scales: int = 4) -> torch.Tensor:
    loss = residual.new_zeros(())
    for k in range(scales):
        r = residual[:, :: 2**k, :: 2**k]
        if min(r.shape[-2:]) > 1:
            loss = loss + r.diff(dim=-1).abs().mean() + r.diff(dim=-2).abs().mean()
    return loss


def depth_loss(prediction: torch.Tensor, target: torch.Tensor, gradient_weight: float = 0.5) -> torch.Tensor:
    """The depth estimator's loss: scale-and-shift-invariant MSE plus MiDaS's gradient matching
    at its weight (α = 0.5 in the paper), both on one standardised difference."""
    residual = _standardised(prediction) - _standardised(target)
    return residual.pow(2).mean() + gradient_weight * _gradient_matching(residual)


def contrastive_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: torch.Tensor,
                     same: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric cross-entropy over a batch of (image, text) pairs. `same` (n×n bool) marks
    pairs whose captions are equal: those are not counted as negatives."""
    import torch.nn.functional as F

    image = F.normalize(image_embeds.float(), dim=-1)
    text = F.normalize(text_embeds.float(), dim=-1)
    logits = logit_scale.exp().clamp(max=100) * image @ text.T
    if same is not None:
        logits = logits.masked_fill(same & ~torch.eye(len(same), dtype=torch.bool, device=same.device), -1e4)
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
