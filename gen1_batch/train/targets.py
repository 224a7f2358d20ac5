"""What a recipe can train (its `target`), one class each: the Gen-1 UNet, and the small models of
the rest of the stack (the autoencoder, the depth estimator, the CLIP towers, the prior).

A target says which components it trains and which frozen ones its samples and its loss need,
turns one draw's frames into a sample (in the Ray Data preprocessing actors), builds the trainable
module from the base model, computes the loss of a worker's samples, and hands the trained
components back for the model folder. The loop (loop.py), the data (preprocess.py) and the export
(export.py) are the same for all of them. The maths is in objective.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gen1_batch.train.objective import (
    IMAGE,
    Draw,
    autoencoder_loss,
    content_of,
    contrastive_loss,
    depth_loss,
    mask_weights,
    min_snr_weights,
    noise_like,
    noisy_and_target,
    weighted_mse,
)
from gen1_batch.train.params import AUTOENCODER_GROUPS, GROUPS, WHOLE, Groups


@dataclass
class StepContext:
    """What a loss needs beside the model and the samples."""

    pipe: Any  # a pipeline holding the target's frozen loop components
    plan: Any  # the SamplePlan (the rows, for captions)
    device: torch.device
    on_gpu: bool
    params: list[nn.Parameter]  # the trainable parameters (a worker without samples still takes part in DDP)

    def zero(self) -> torch.Tensor:
        return sum((p.sum() * 0 for p in self.params), torch.zeros((), device=self.device))

    def caption(self, d: Draw) -> str:
        return self.plan.row_of(d).caption or ""

    @property
    def mask_weight(self) -> float | None:
        """The recipe's weight inside masks; None when it does not weigh them."""
        return self.plan.recipe.data.mask_weight if self.plan and self.plan.recipe.data.weighs_masks else None

    @property
    def snr_gamma(self) -> float:
        """The recipe's min-SNR γ; 0 when it does not weigh the timesteps."""
        return self.plan.recipe.snr_gamma if self.plan else 0.0


Samples = list[tuple[Draw, dict[str, np.ndarray]]]


class Target:
    name: ClassVar[str]
    description: ClassVar[str]
    trains: ClassVar[tuple[str, ...]]  # the model components it trains
    groups: ClassVar[Groups] = WHOLE  # the parameter groups a recipe may name in its `trains`
    sample_components: ClassVar[tuple[str, ...]] = ()  # frozen, in the preprocessing actors
    loop_components: ClassVar[tuple[str, ...]] = ()  # frozen, in the training workers
    reads_depth_truth: bool = False  # its samples take a row's exact depth when it has one
    needs_depth_truth: ClassVar[bool] = False  # rows must give exact depth (the manifest's depth column)

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        """One draw's sample from its uint8 f×h×w×3 frames (and exact relative depth f×h×w, if asked)."""
        return {"frames": frames}

    def sample_choices(self, d: Draw) -> tuple:
        """What of a draw its sample depends on beside its pixels (the preprocessing cache's key)."""
        return ()

    def build(self, components: dict[str, Any]) -> nn.Module:
        """The module the workers train (DDP wraps it), from the base model's trained components."""
        raise NotImplementedError

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        raise NotImplementedError

    def parts(self, module: nn.Module) -> dict[str, nn.Module]:
        """The trained components, by name, for the model folder."""
        return {self.trains[0]: module}

    def finish(self, parts: dict[str, nn.Module], plan: Any) -> None:
        """Anything set from data once training is over (the autoencoder's scaling factor)."""


def unwrapped(model: nn.Module) -> nn.Module:
    """The module itself, under the DDP wrapper Ray Train's prepare_model may put around it."""
    return model.module if hasattr(model, "module") else model


def stack_frames(samples: Samples, key: str, device: torch.device) -> torch.Tensor:
    """Every sample's frames (or maps) of `key` as one n×… batch of single images."""
    return torch.cat([torch.from_numpy(np.ascontiguousarray(s[key])) for _, s in samples]).to(device)


# ------------------------------------------------------------------------------------------------- UNet

class UNetTarget(Target):
    name = "unet"
    description = "the Gen-1 UNet: v (or ε) on autoencoder latents, structure from obscured depth, content from CLIP"
    trains = ("unet",)
    groups = GROUPS
    loop_components = ("vae", "scheduler")

    def __init__(self, structure: int | str = "uniform"):
        self.uses_depth = structure != "none"

    @property
    def sample_components(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("vae", "image_encoder", *(("depth_estimator",) if self.uses_depth else ()))

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        latents = pipe.encode_frames(frames)[0].float().cpu().numpy()  # c×f×h×w
        depth = (np.zeros((0, 0, 0), np.float32) if d.structure_level is None
                 else pipe.estimate_depth(frames).astype(np.float32))
        return {"latents": latents, "depth": depth, "embeddings": pipe.embed_frames(frames).astype(np.float32)}

    def sample_choices(self, d: Draw) -> tuple:
        return (d.structure_level is None,)  # every frame is embedded: the content frame is picked in the loss

    def build(self, components: dict[str, Any]) -> nn.Module:
        return components["unet"]

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        """The mean squared error of the prediction (v or ε, as the scheduler says)."""
        if not samples:
            return ctx.zero()
        device, pipe = ctx.device, ctx.pipe
        latents = torch.stack([torch.from_numpy(s["latents"]) for _, s in samples]).to(device)
        structures = []
        for d, s in samples:
            if d.structure_level is None:
                structures.append(torch.zeros_like(latents[0])[None])
            else:  # obscured by t_s and encoded exactly as the edit does
                structures.append(pipe.encode_structure(s["depth"], d.structure_level).to(device, torch.float32))
        structure = torch.cat(structures)
        content = torch.stack([content_of(torch.from_numpy(s["embeddings"]), d.content_frame, d.drop_content)
                               for d, s in samples]).to(device)
        noise = torch.stack([noise_like(latents[i], d.noise_seed) for i, (d, _) in enumerate(samples)])
        timesteps = torch.tensor([d.timestep for d, _ in samples], device=device)
        noisy, target = noisy_and_target(latents, noise, timesteps, pipe.scheduler.alphas_cumprod,
                                         pipe.scheduler.config.prediction_type)
        video = samples[0][0].kind != IMAGE
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=ctx.on_gpu):
            prediction = model(noisy, timesteps, content, structure, video=video).sample
        weight = None if ctx.mask_weight is None else torch.stack(
            [mask_weights(torch.from_numpy(s["mask"]) if "mask" in s else None, latents.shape, ctx.mask_weight)
             for _, s in samples])
        sample_weight = min_snr_weights(timesteps, pipe.scheduler.alphas_cumprod, ctx.snr_gamma,
                                        pipe.scheduler.config.prediction_type) if ctx.snr_gamma else None
        loss = weighted_mse(prediction, target, weight, sample_weight)
        # Image steps skip the temporal layers: a recipe training only those learns nothing from them,
        # but the step still goes through backward and the optimiser like every other.
        return loss if loss.requires_grad else loss + ctx.zero()


# ---------------------------------------------------------------------------------------- autoencoder

class AutoencoderObjective(nn.Module):
    """The autoencoder and its loss in one forward (DDP exchanges gradients of what forward ran)."""

    def __init__(self, vae: nn.Module, kl_weight: float):
        super().__init__()
        self.vae, self.kl_weight = vae, kl_weight

    def forward(self, pixels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        posterior = self.vae.encode(pixels).latent_dist
        z = posterior.mean + posterior.std * noise
        return autoencoder_loss(self.vae.decode(z).sample, pixels, posterior.mean, posterior.logvar, self.kl_weight)


class AutoencoderTarget(Target):
    name = "vae"
    description = "the autoencoder, on frames and on their depth maps (it encodes structure too)"
    trains = ("vae",)
    groups = AUTOENCODER_GROUPS
    KL_WEIGHT = 1e-6  # as the latent diffusion paper's KL-regularised autoencoders
    SCALE_FRAMES = 256  # frames whose latents set the scaling factor

    def __init__(self, groups: tuple[str, ...] = ("all",)):
        self.decoder_only = "all" not in groups
        # Structure is depth through the encoder and never decoded: a decoder alone learns frames only.
        self.reads_depth_truth = not self.decoder_only

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        out = {"frames": frames}
        if truth is not None:  # structure is depth through the same autoencoder: it learns those maps too
            out["depth"] = np.round(truth * 255).astype(np.uint8)
        return out

    def build(self, components: dict[str, Any]) -> nn.Module:
        return AutoencoderObjective(components["vae"], self.KL_WEIGHT)

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        if not samples:
            return ctx.zero()
        from gen1_batch.model.base import from_uint8

        pixels = from_uint8(stack_frames(samples, "frames", ctx.device))
        if all("depth" in s for _, s in samples):  # grey maps, as encode_structure gives depth to the autoencoder
            pixels = torch.cat([pixels, from_uint8(stack_frames(samples, "depth", ctx.device)[..., None].expand(
                -1, -1, -1, 3))])
        vae = unwrapped(model).vae
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        shape = (len(pixels), vae.config.latent_channels, pixels.shape[2] // factor, pixels.shape[3] // factor)
        noise = noise_like(torch.empty(shape, device=ctx.device), samples[0][0].noise_seed)
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.on_gpu):
            return model(pixels, noise)

    def parts(self, module: nn.Module) -> dict[str, nn.Module]:
        return {"vae": module.vae}

    def finish(self, parts: dict[str, nn.Module], plan: Any) -> None:
        """The scaling factor: 1 / the standard deviation of training frames' latents, so the diffusion
        model sees latents of unit variance (as Stable Diffusion's 0.18215 was chosen). A decoder trained
        alone keeps it: the latents are the ones the models downstream were trained on."""
        if self.decoder_only:
            return
        from gen1_batch.model.base import from_uint8
        from gen1_batch.train.samples import read_sample

        vae = parts["vae"]
        frames, step = [], 0
        while sum(len(f) for f in frames) < self.SCALE_FRAMES and step < plan.recipe.steps:
            for d in plan.draws(step, 0):
                try:
                    frames.append(read_sample(plan, d)[0])
                except Exception:  # a bad sample was skipped in training too
                    continue
            step += 1
        x = from_uint8(torch.from_numpy(np.concatenate(frames)))
        with torch.no_grad():
            latents = torch.cat([vae.encode(x[i: i + 32]).latent_dist.mode() for i in range(0, len(x), 32)])
        vae.register_to_config(scaling_factor=float(1 / latents.std()))


# ------------------------------------------------------------------------------------------------ depth

class DepthObjective(nn.Module):
    def __init__(self, depth_estimator: nn.Module):
        super().__init__()
        self.depth_estimator = depth_estimator

    def forward(self, pixel_values: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        predicted = self.depth_estimator(pixel_values=pixel_values).predicted_depth
        predicted = F.interpolate(predicted[:, None], size=truth.shape[-2:], mode="bilinear", align_corners=False)
        return depth_loss(predicted[:, 0], truth)


class DepthTarget(Target):
    name = "depth_estimator"
    description = "the DPT depth estimator, on exact depth (inverse, near = high), up to scale and shift, edges matched"
    trains = ("depth_estimator",)
    reads_depth_truth = needs_depth_truth = True

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        if truth is None:
            raise ValueError("this row has no exact depth (the manifest's depth column), which the recipe needs")
        return {"frames": frames, "truth": truth.astype(np.float32)}

    def build(self, components: dict[str, Any]) -> nn.Module:
        return DepthObjective(components["depth_estimator"])

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        if not samples:
            return ctx.zero()
        pixels = ctx.pipe.depth_pixel_values(stack_frames(samples, "frames", ctx.device))
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.on_gpu):
            return model(pixels, stack_frames(samples, "truth", ctx.device))

    def parts(self, module: nn.Module) -> dict[str, nn.Module]:
        return {"depth_estimator": module.depth_estimator}


# ------------------------------------------------------------------------------------------------- CLIP

class ContrastiveObjective(nn.Module):
    """CLIP's two towers and their learned temperature."""

    def __init__(self, image_encoder: nn.Module, text_encoder: nn.Module):
        super().__init__()
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
        images = self.image_encoder(pixel_values=pixel_values).image_embeds
        texts = self.text_encoder(input_ids=input_ids).text_embeds
        return contrastive_loss(images, texts, self.logit_scale, same)


class ClipTarget(Target):
    name = "clip"
    description = "the CLIP image and text towers, contrastive on one frame of each sample and its caption"
    trains = ("image_encoder", "text_encoder")
    loop_components = ("tokenizer",)

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        return {"frames": frames[d.content_frame: d.content_frame + 1]}

    def sample_choices(self, d: Draw) -> tuple:
        return (d.content_frame,)

    def build(self, components: dict[str, Any]) -> nn.Module:
        return ContrastiveObjective(components["image_encoder"], components["text_encoder"])

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        if not samples:
            return ctx.zero()
        from gen1_batch.model.content import tokenize

        captions = [ctx.caption(d) for d, _ in samples]
        ids = tokenize(ctx.pipe.tokenizer, unwrapped(model).text_encoder, captions).input_ids.to(ctx.device)
        same = torch.tensor([[a == b for b in captions] for a in captions], device=ctx.device)
        pixels = ctx.pipe.clip_pixel_values(stack_frames(samples, "frames", ctx.device))
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.on_gpu):
            return model(pixels, ids, same)

    def parts(self, module: nn.Module) -> dict[str, nn.Module]:
        return {"image_encoder": module.image_encoder, "text_encoder": module.text_encoder}


# ------------------------------------------------------------------------------------------------ prior

class PriorTarget(Target):
    name = "prior"
    description = "the unCLIP prior: text embedding -> CLIP image embedding (x0-prediction; captions dropped)"
    trains = ("prior",)
    sample_components = ("image_encoder",)
    loop_components = ("text_encoder", "tokenizer", "prior_scheduler")

    def sample(self, pipe: Any, frames: np.ndarray, truth: np.ndarray | None, d: Draw) -> dict[str, np.ndarray]:
        return {"embedding": pipe.embed_frames(frames[d.content_frame: d.content_frame + 1])[0].astype(np.float32)}

    def sample_choices(self, d: Draw) -> tuple:
        return (d.content_frame,)

    def build(self, components: dict[str, Any]) -> nn.Module:
        return components["prior"]

    def loss(self, model: nn.Module, samples: Samples, ctx: StepContext) -> torch.Tensor:
        """As unCLIP: the prior predicts the clean image embedding from its noisy version, the caption's
        text embedding and per-token states; a dropped caption is the empty prompt the edit guides against."""
        from gen1_batch.model.content import encode_text

        if not samples:
            return ctx.zero()
        pipe, device = ctx.pipe, ctx.device
        captions = ["" if d.drop_content else ctx.caption(d) for d, _ in samples]
        text_embeds, states, mask = encode_text(pipe.tokenizer, pipe.text_encoder, captions)
        prior = unwrapped(model)
        embeddings = torch.stack([torch.from_numpy(s["embedding"]) for _, s in samples]).to(device)
        clean = (embeddings - prior.clip_mean.detach()) / prior.clip_std.detach()
        noise = torch.stack([noise_like(clean[i], d.noise_seed) for i, (d, _) in enumerate(samples)])
        timesteps = torch.tensor([d.timestep for d, _ in samples], device=device)
        noisy, target = noisy_and_target(clean, noise, timesteps, pipe.prior_scheduler.alphas_cumprod, "sample")
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=ctx.on_gpu):
            predicted = model(noisy, timestep=timesteps, proj_embedding=text_embeds.to(device),
                              encoder_hidden_states=states.to(device), attention_mask=mask.to(device)
                              ).predicted_image_embedding
        return F.mse_loss(predicted.float(), target.float())


TARGETS: dict[str, type[Target]] = {t.name: t for t in (UNetTarget, AutoencoderTarget, DepthTarget, ClipTarget,
                                                         PriorTarget)}


def target_of(recipe: Any) -> Target:
    """The target a recipe trains, set up for its data."""
    kind = TARGETS[recipe.target]
    if kind is UNetTarget:
        return kind(recipe.data.structure)
    return kind(tuple(recipe.trains)) if kind is AutoencoderTarget else kind()
