"""Gen1Pipeline: structure- and content-guided video editing, diffusers style.

`__call__` reads top to bottom (check inputs → depth → content → structure latents → denoise →
decode). The batch job runs the same methods as separate Ray stages: `estimate_depth` in the
depth stage, `encode_content` in the CLIP stage, `generate` in the diffusion stage.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DiffusionPipeline, PriorTransformer, SchedulerMixin, UnCLIPScheduler
from diffusers.utils import BaseOutput
from transformers import (
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionModelWithProjection,
    DPTForDepthEstimation,
)

from gen1_batch.model.content import clip_preprocess, embed_images, encode_text, prior_image_embeddings
from gen1_batch.model.sampler import SamplingStats, sample
from gen1_batch.model.settings import COMPONENTS, DEFAULT_SETTINGS
from gen1_batch.model.structure import normalize_depth, obscure_depth
from gen1_batch.model.unet import Gen1UNet
from gen1_batch.model.windows import WindowSpec


@dataclass
class Gen1PipelineOutput(BaseOutput):
    frames: np.ndarray  # uint8 f×h×w×3
    depth: np.ndarray  # float32 f×h×w in [0, 1], before obscuring
    stats: SamplingStats


def as_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing the array's memory, or a copy when the array is read-only (Ray's zero-copy batches)."""
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def own_aligned_memory(module: torch.nn.Module) -> None:
    """Copy loaded weights out of the memory-mapped file into aligned memory. Tensors mapped at odd
    offsets send CPU kernels down other code paths that round differently, and a model loaded from
    a folder would then not reproduce the model that was saved, bit for bit."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.device.type == "cpu":
            tensor.data = tensor.data.clone()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """n×3×h×w in [-1, 1] to uint8 n×h×w×3."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class Gen1Pipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->prior->image_encoder->depth_estimator->vae->unet"
    # Every component is optional: each batch stage loads only its own (see STAGE_COMPONENTS).
    _optional_components: ClassVar[list[str]] = list(COMPONENTS)

    def __init__(
        self,
        vae: AutoencoderKL | None = None,
        unet: Gen1UNet | None = None,
        scheduler: SchedulerMixin | None = None,
        depth_estimator: DPTForDepthEstimation | None = None,
        image_encoder: CLIPVisionModelWithProjection | None = None,
        text_encoder: CLIPTextModelWithProjection | None = None,
        tokenizer: CLIPTokenizer | None = None,
        prior: PriorTransformer | None = None,
        prior_scheduler: UnCLIPScheduler | None = None,
        settings: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.register_modules(vae=vae, unet=unet, scheduler=scheduler, depth_estimator=depth_estimator,
                              image_encoder=image_encoder, text_encoder=text_encoder, tokenizer=tokenizer,
                              prior=prior, prior_scheduler=prior_scheduler)
        self.register_to_config(settings={**DEFAULT_SETTINGS, **(settings or {})})

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> Gen1Pipeline:
        pipe = super().from_pretrained(*args, **kwargs)
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                own_aligned_memory(component)
        return pipe

    @property
    def settings(self) -> dict[str, Any]:
        return self.config.settings

    def _require(self, *names: str) -> None:
        missing = [n for n in names if getattr(self, n, None) is None]
        if missing:
            raise ValueError(f"this pipeline was loaded without {', '.join(missing)}")

    # ------------------------------------------------------------------------------------------ stages

    @torch.no_grad()
    def estimate_depth(self, frames: np.ndarray) -> np.ndarray:
        """MiDaS/DPT relative depth of uint8 f×h×w×3 frames, normalised over the shot: float32 f×h×w in [0, 1]."""
        self._require("depth_estimator")
        s = self.settings
        model = self.depth_estimator
        mean = torch.tensor(s["depth_mean"], device=model.device).view(1, 3, 1, 1)
        std = torch.tensor(s["depth_std"], device=model.device).view(1, 3, 1, 1)
        h, w = frames.shape[1:3]
        maps = []
        for i in range(0, len(frames), s["depth_batch"]):
            x = as_tensor(frames[i: i + s["depth_batch"]]).to(model.device).permute(0, 3, 1, 2).float() / 255
            x = F.interpolate(x, size=(s["depth_size"], s["depth_size"]), mode="bicubic", align_corners=False,
                              antialias=True)
            depth = model(pixel_values=((x - mean) / std).to(model.dtype)).predicted_depth
            maps.append(F.interpolate(depth[:, None].float(), size=(h, w), mode="bicubic", align_corners=False)[:, 0])
        return normalize_depth(torch.cat(maps)).cpu().numpy()

    @torch.no_grad()
    def encode_content(self, prompt: str | None = None, image: np.ndarray | None = None,
                       negative_prompt: str | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The content c and null content ∅ as CLIP image embeddings (d each).

        c comes from the reference image, or from the prompt through the prior; given both, it is
        their mean. ∅ is zero, or the negative prompt's embedding when there is one.
        """
        if prompt is None and image is None:
            raise ValueError("content needs a prompt, an image prompt or both")
        s = self.settings
        generator = torch.Generator("cpu").manual_seed(seed)
        embeddings = []
        if image is not None:
            self._require("image_encoder")
            pixels = clip_preprocess(as_tensor(np.ascontiguousarray(image))[None].to(self.image_encoder.device),
                                     s["clip_size"], s["clip_mean"], s["clip_std"])
            embeddings.append(embed_images(self.image_encoder, pixels)[0].float())
        texts = [t for t in (prompt, negative_prompt) if t is not None]
        text_embeddings = {}
        if texts:
            self._require("text_encoder", "tokenizer", "prior", "prior_scheduler")
            prior_scheduler = self.prior_scheduler.__class__.from_config(self.prior_scheduler.config)
            mapped = prior_image_embeddings(texts, self.tokenizer, self.text_encoder, self.prior, prior_scheduler,
                                            s["prior_steps"], s["prior_guidance_scale"], generator).float()
            text_embeddings = dict(zip(texts, mapped, strict=True))
        if prompt is not None:
            embeddings.append(text_embeddings[prompt])
        content = torch.stack(embeddings).mean(0)
        null = text_embeddings[negative_prompt] if negative_prompt is not None else torch.zeros_like(content)
        return content.cpu().numpy(), null.cpu().numpy()

    @torch.no_grad()
    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """CLIP image embeddings of uint8 f×h×w×3 frames (f×d), a few frames per call."""
        self._require("image_encoder")
        s = self.settings
        batch = s["depth_batch"]
        out = []
        for i in range(0, len(frames), batch):
            x = as_tensor(np.ascontiguousarray(frames[i: i + batch])).to(self.image_encoder.device)
            out.append(embed_images(self.image_encoder, clip_preprocess(x, s["clip_size"], s["clip_mean"],
                                                                        s["clip_std"])).float().cpu())
        return torch.cat(out).numpy()

    @torch.no_grad()
    def embed_text(self, text: str) -> np.ndarray:
        """The CLIP text embedding of `text` (d), in the space of the image embeddings."""
        self._require("text_encoder", "tokenizer")
        return encode_text(self.tokenizer, self.text_encoder, [text])[0][0].float().cpu().numpy()

    @torch.no_grad()
    def encode_structure(self, depth: np.ndarray, level: int) -> torch.Tensor:
        """Obscure depth (f×h×w in [0, 1]) by t_s = `level` and encode it: 1×c×f×h'×w' latents.

        A few frames at a time (obscuring is per frame), so memory does not grow with the shot.
        """
        self._require("vae")
        batch = self.settings["vae_batch"]
        latents = []
        for i in range(0, len(depth), batch):
            d = as_tensor(depth[i: i + batch]).to(self.vae.device, torch.float32)
            x = (obscure_depth(d, level) * 2 - 1)[:, None].expand(-1, 3, -1, -1).to(self.vae.dtype)
            latents.append(self.vae.encode(x).latent_dist.mode() * self.vae.config.scaling_factor)
        return torch.cat(latents).transpose(0, 1)[None]

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> np.ndarray:
        """1×c×f×h×w latents to uint8 f×h×w×3 frames, a few frames per autoencoder call."""
        self._require("vae")
        z = latents[0].transpose(0, 1) / self.vae.config.scaling_factor
        batch = self.settings["vae_batch"]
        return np.concatenate([to_uint8(self.vae.decode(z[i: i + batch].to(self.vae.dtype)).sample.float())
                               for i in range(0, len(z), batch)])

    def window_spec(self, length: int | None = None, stride: int | None = None, blend: str = "pyramid",
                    shift: bool = True, free_noise: bool = False) -> WindowSpec:
        """Windows of the model's clip length overlapping by half, unless told otherwise."""
        length = length or self.settings["window_length"]
        return WindowSpec(length=length, stride=stride or max(1, length // 2), blend=blend, shift=shift,
                          free_noise=free_noise)

    def _denoise(self, sample: torch.Tensor, t: torch.Tensor, content: torch.Tensor, structure: torch.Tensor,
                 video: torch.Tensor) -> torch.Tensor:
        return self.unet(sample, t, content, structure, video=video).sample

    @torch.no_grad()
    def generate(self, depth: np.ndarray, content: np.ndarray, null: np.ndarray, *, structure: int,
                 content_scale: float, temporal_scale: float, steps: int | None = None, seed: int = 0,
                 window: WindowSpec | None = None, max_batch: int | None = None) -> tuple[np.ndarray, SamplingStats]:
        """Edit one shot given its depth and content: uint8 f×h×w×3 frames at the depth's size."""
        self._require("vae", "unet", "scheduler")
        h, w = depth.shape[1:]
        multiple = self.settings["resolution_multiple"]
        if h % multiple or w % multiple:
            raise ValueError(f"working size {w}×{h} must be a multiple of {multiple} for this model")
        device, dtype = self.unet.device, self.unet.dtype
        structure_latents = self.encode_structure(depth, structure).to(device, dtype)
        c = as_tensor(content).to(device, dtype)[None]
        n = as_tensor(null).to(device, dtype)[None]
        scheduler = self.scheduler.__class__.from_config(self.scheduler.config)  # no state shared between shots
        stats = SamplingStats()
        latents = sample(
            self._denoise, scheduler, structure_latents, c, n,
            steps=steps or self.settings["default_steps"],
            content_scale=content_scale,
            temporal_scale=temporal_scale,
            window=window or self.window_spec(),
            generator=torch.Generator("cpu").manual_seed(seed),
            max_batch=max_batch or self.settings["max_batch"],
            stats=stats,
        )
        return self.decode_latents(latents), stats

    # ---------------------------------------------------------------------------------------- one shot

    def __call__(
        self,
        frames: np.ndarray,
        prompt: str | None = None,
        image_prompt: np.ndarray | None = None,
        negative_prompt: str | None = None,
        structure: int = 3,
        content_scale: float = 7.5,
        temporal_scale: float = 1.0,
        steps: int | None = None,
        seed: int = 0,
        window: WindowSpec | None = None,
    ) -> Gen1PipelineOutput:
        """Edit uint8 f×h×w×3 frames (already at the working size) towards a prompt or reference image."""
        # 1. check inputs
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 f×h×w×3, got {frames.dtype} {frames.shape}")
        if len(frames) == 0:
            raise ValueError("frames is empty")
        # 2. structure: depth of every frame
        depth = self.estimate_depth(frames)
        # 3. content: CLIP image embedding, and the null content
        content, null = self.encode_content(prompt, image_prompt, negative_prompt, seed=seed)
        # 4-6. obscure and encode depth, denoise from seeded noise, decode
        edited, stats = self.generate(depth, content, null, structure=structure, content_scale=content_scale,
                                      temporal_scale=temporal_scale, steps=steps, seed=seed, window=window)
        return Gen1PipelineOutput(frames=edited, depth=depth, stats=stats)
