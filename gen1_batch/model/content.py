"""Content: CLIP image embeddings, from a reference image or from text through an unCLIP prior."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import PriorTransformer, UnCLIPScheduler
from diffusers.utils.torch_utils import randn_tensor
from transformers import CLIPTextModelWithProjection, CLIPTokenizer, CLIPVisionModelWithProjection


def clip_preprocess(images: torch.Tensor, size: int, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """CLIP's input convention for uint8 n×h×w×3 images: shortest side to `size`, centre crop, normalise."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    x = F.interpolate(x, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                      mode="bicubic", align_corners=False, antialias=True)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    x = x[..., top: top + size, left: left + size].clamp(0, 1)
    mean_t = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


@torch.no_grad()
def embed_images(image_encoder: CLIPVisionModelWithProjection, pixels: torch.Tensor) -> torch.Tensor:
    """Projected CLIP image embeddings, n×d."""
    return image_encoder(pixel_values=pixels.to(image_encoder.device, image_encoder.dtype)).image_embeds


def tokenize(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModelWithProjection, prompts: list[str]) -> Any:
    """The prompts' tokens, padded to the length the tokenizer and the text tower both take."""
    max_length = min(tokenizer.model_max_length, text_encoder.config.max_position_embeddings)
    return tokenizer(prompts, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt")


@torch.no_grad()
def encode_text(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModelWithProjection, prompts: list[str]
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Projected text embeddings (n×d), per-token states (n×l×d') and the token mask (n×l)."""
    tokens = tokenize(tokenizer, text_encoder, prompts)
    out = text_encoder(tokens.input_ids.to(text_encoder.device))
    return out.text_embeds, out.last_hidden_state, tokens.attention_mask.bool().to(text_encoder.device)


@torch.no_grad()
def prior_image_embeddings(prompts: list[str], tokenizer: CLIPTokenizer, text_encoder: CLIPTextModelWithProjection,
                           prior: PriorTransformer, scheduler: UnCLIPScheduler, steps: int,
                           guidance_scale: float, generator: torch.Generator | None) -> torch.Tensor:
    """Map text to CLIP image embeddings with a diffusion prior (unCLIP), classifier-free guided against
    the empty prompt. Returns n×d."""
    n = len(prompts)
    text_embeds, states, mask = encode_text(tokenizer, text_encoder, [*prompts, *[""] * n])
    scheduler.set_timesteps(steps, device=prior.device)
    timesteps = scheduler.timesteps
    latents = randn_tensor((n, prior.config.embedding_dim), generator=generator, device=prior.device,
                           dtype=prior.dtype) * scheduler.init_noise_sigma
    for i, t in enumerate(timesteps):
        predicted = prior(
            torch.cat([latents, latents]),
            timestep=t,
            proj_embedding=text_embeds.to(prior.dtype),
            encoder_hidden_states=states.to(prior.dtype),
            attention_mask=mask,
        ).predicted_image_embedding
        text, empty = predicted.chunk(2)
        predicted = empty + guidance_scale * (text - empty)
        prev = timesteps[i + 1] if i + 1 < len(timesteps) else None
        latents = scheduler.step(predicted, timestep=t, sample=latents, generator=generator,
                                 prev_timestep=prev).prev_sample
    return prior.post_process_latents(latents)
