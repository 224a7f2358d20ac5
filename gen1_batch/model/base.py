"""What every editing model shares: depth, CLIP frame embeddings, decoding, windows, and one
`generate` that runs the common sampler (guidance + windows) over a model-specific denoiser.

A model supplies `encode_content` (conditions as named arrays, so they travel between Ray stages
as plain data), `prepare_structure`, `prepare_conditioning` and `_denoise`; the rest is here.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from gen1_batch.model.content import clip_preprocess, embed_images
from gen1_batch.model.sampler import Conditioning, SamplingStats, sample
from gen1_batch.model.settings import DEFAULT_SETTINGS, default_stride
from gen1_batch.model.structure import normalize_depth
from gen1_batch.model.windows import WindowSpec


@dataclass
class EditOutput(BaseOutput):
    frames: np.ndarray  # uint8 f×h×w×3
    depth: np.ndarray  # float32 f×h×w in [0, 1], before obscuring
    stats: SamplingStats


def noise_generator(seed: int, stream: str = "video") -> torch.Generator:
    """The shot's random numbers for one use: the video's initial noise (the seed itself, so a seed
    means the same noise as before) or another stream (the prior's), drawn independently of it."""
    if stream != "video":
        seed = int.from_bytes(hashlib.sha256(f"{seed}:{stream}".encode()).digest()[:8], "big") >> 1
    return torch.Generator("cpu").manual_seed(seed)


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


def from_uint8(frames: torch.Tensor) -> torch.Tensor:
    """uint8 n×h×w×3 frames to n×3×h×w in [-1, 1], what the autoencoder takes (the inverse of to_uint8)."""
    return frames.permute(0, 3, 1, 2).float() / 127.5 - 1


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """n×3×h×w in [-1, 1] to uint8 n×h×w×3."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class VideoEditPipeline(DiffusionPipeline):
    """Base of the editing pipelines (see Gen1Pipeline and MotionDepthPipeline)."""

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> VideoEditPipeline:
        pipe = super().from_pretrained(*args, **kwargs)
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                own_aligned_memory(component)
        return pipe

    def _register_settings(self, settings: dict[str, Any] | None) -> None:
        self.register_to_config(settings={**DEFAULT_SETTINGS, **(settings or {})})

    @property
    def settings(self) -> dict[str, Any]:
        return self.config.settings

    def _require(self, *names: str) -> None:
        missing = [n for n in names if getattr(self, n, None) is None]
        if missing:
            raise ValueError(f"this pipeline was loaded without {', '.join(missing)}")

    # ------------------------------------------------------------------------------------- shared stages

    @torch.no_grad()
    def estimate_depth(self, frames: np.ndarray) -> np.ndarray:
        """MiDaS/DPT relative depth of uint8 f×h×w×3 frames, normalised over the shot: float32 f×h×w in [0, 1]."""
        self._require("depth_estimator")
        s = self.settings
        model = self.depth_estimator
        h, w = frames.shape[1:3]
        maps = []
        for i in range(0, len(frames), s["depth_batch"]):
            x = as_tensor(frames[i: i + s["depth_batch"]]).to(model.device)
            depth = model(pixel_values=self.depth_pixel_values(x).to(model.dtype)).predicted_depth
            maps.append(F.interpolate(depth[:, None].float(), size=(h, w), mode="bicubic", align_corners=False)[:, 0])
        return normalize_depth(torch.cat(maps)).cpu().numpy()

    def depth_pixel_values(self, frames: torch.Tensor) -> torch.Tensor:
        """The depth estimator's input for uint8 n×h×w×3 frames (also what it is trained on)."""
        s = self.settings
        mean = torch.tensor(s["depth_mean"], device=frames.device).view(1, 3, 1, 1)
        std = torch.tensor(s["depth_std"], device=frames.device).view(1, 3, 1, 1)
        x = F.interpolate(frames.permute(0, 3, 1, 2).float() / 255, size=(s["depth_size"], s["depth_size"]),
                          mode="bicubic", align_corners=False, antialias=True)
        return (x - mean) / std

    def clip_pixel_values(self, frames: torch.Tensor) -> torch.Tensor:
        """The CLIP image tower's input for uint8 n×h×w×3 frames (also what it is trained on)."""
        s = self.settings
        return clip_preprocess(frames, s["clip_size"], s["clip_mean"], s["clip_std"])

    @torch.no_grad()
    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """CLIP image embeddings of uint8 f×h×w×3 frames (f×d), a few frames per call."""
        self._require("image_encoder")
        s = self.settings
        out = []
        for i in range(0, len(frames), s["depth_batch"]):
            x = as_tensor(np.ascontiguousarray(frames[i: i + s["depth_batch"]])).to(self.image_encoder.device)
            out.append(embed_images(self.image_encoder, self.clip_pixel_values(x)).float().cpu())
        return torch.cat(out).numpy()

    def embed_text(self, text: str) -> np.ndarray | None:
        """A text embedding in the space of `embed_frames`, or None when the model has no such tower."""
        return None

    @contextmanager
    def vae_tiles(self, height: int, width: int) -> Iterator[None]:
        """Above `vae_tile_above` pixels the autoencoder works in overlapping tiles (diffusers' tiling),
        so its memory stops growing with the canvas; below, it sees whole frames (the same results as
        ever)."""
        tiled = max(height, width) > self.settings["vae_tile_above"]
        if tiled:
            self.vae.enable_tiling()
        try:
            yield
        finally:
            if tiled:
                self.vae.disable_tiling()

    @torch.no_grad()
    def encode_images(self, images: Iterable[torch.Tensor], height: int, width: int) -> torch.Tensor:
        """Batches of n×3×h×w images in [-1, 1] to 1×c×f×h'×w' latents: the autoencoder's mode, scaled
        (what the UNet is trained on), in tiles above `vae_tile_above`."""
        with self.vae_tiles(height, width):
            latents = [self.vae.encode(x.to(self.vae.device, self.vae.dtype)).latent_dist.mode() for x in images]
        return (torch.cat(latents) * self.vae.config.scaling_factor).transpose(0, 1)[None]

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 f×h×w×3 frames to 1×c×f×h'×w' latents, a few frames per call (the inverse of
        decode_latents)."""
        self._require("vae")
        batch = self.settings["vae_batch"]
        return self.encode_images((from_uint8(as_tensor(frames[i: i + batch]).to(self.vae.device))
                                   for i in range(0, len(frames), batch)), *frames.shape[1:3])

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> np.ndarray:
        """1×c×f×h×w latents to uint8 f×h×w×3 frames, a few frames per autoencoder call."""
        self._require("vae")
        z = latents[0].transpose(0, 1) / self.vae.config.scaling_factor
        batch = self.settings["vae_batch"]
        factor = self.vae_scale_factor
        with self.vae_tiles(z.shape[2] * factor, z.shape[3] * factor):
            return np.concatenate([to_uint8(self.vae.decode(z[i: i + batch].to(self.vae.dtype)).sample.float())
                                   for i in range(0, len(z), batch)])

    def window_spec(self, length: int | None = None, stride: int | None = None, blend: str = "pyramid",
                    shift: bool = True, free_noise: bool = False) -> WindowSpec:
        """Windows of the model's clip length overlapping by half, unless told otherwise."""
        length = length or self.settings["window_length"]
        return WindowSpec(length=length, stride=stride or default_stride(length), blend=blend, shift=shift,
                          free_noise=free_noise)

    # ------------------------------------------------------------------------------------ model-specific

    def encode_content(self, prompt: str | None = None, image: np.ndarray | None = None,
                       negative_prompt: str | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def prepare_structure(self, depth: np.ndarray, level: int) -> torch.Tensor:
        """What the denoiser is conditioned on for structure: 1×c×f×h×w, frames on dim 2."""
        raise NotImplementedError

    def prepare_conditioning(self, conditioning: dict[str, np.ndarray]) -> tuple[Conditioning, Conditioning]:
        """The content c and null content ∅ as the denoiser takes them, for one clip."""
        raise NotImplementedError

    def _denoise(self, sample: torch.Tensor, t: torch.Tensor, content: Conditioning, structure: torch.Tensor,
                 video: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def latent_channels(self) -> int:
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------- shared

    @torch.no_grad()
    def generate(self, depth: np.ndarray, conditioning: dict[str, np.ndarray], *, structure: int,
                 content_scale: float, temporal_scale: float, steps: int | None = None, seed: int = 0,
                 window: WindowSpec | None = None, max_batch: int | None = None) -> tuple[np.ndarray, SamplingStats]:
        """Edit one shot given its depth and content: uint8 f×h×w×3 frames at the depth's size."""
        self._require("vae", "unet", "scheduler")
        f, h, w = depth.shape
        multiple = self.settings["resolution_multiple"]
        if h % multiple or w % multiple:
            raise ValueError(f"working size {w}×{h} must be a multiple of {multiple} for this model")
        structure_input = self.prepare_structure(depth, structure)
        content, null = self.prepare_conditioning(conditioning)
        scheduler = self.scheduler.__class__.from_config(self.scheduler.config)  # no state shared between shots
        stats = SamplingStats()
        factor = self.vae_scale_factor
        latents = sample(
            self._denoise, scheduler, structure_input, content, null,
            latent_shape=(1, self.latent_channels, f, h // factor, w // factor),
            steps=steps or self.settings["default_steps"],
            content_scale=content_scale,
            temporal_scale=temporal_scale,
            window=window or self.window_spec(),
            generator=noise_generator(seed),
            max_batch=max_batch or self.settings["max_batch"],
            stats=stats,
        )
        return self.decode_latents(latents), stats

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

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
    ) -> EditOutput:
        """Edit uint8 f×h×w×3 frames (already at the working size) towards a prompt or reference image."""
        # 1. check inputs
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 f×h×w×3, got {frames.dtype} {frames.shape}")
        if len(frames) == 0:
            raise ValueError("frames is empty")
        # 2. structure: depth of every frame
        depth = self.estimate_depth(frames)
        # 3. content: the condition and the null condition
        conditioning = self.encode_content(prompt, image_prompt, negative_prompt, seed=seed)
        # 4-6. prepare structure, denoise from seeded noise over windows, decode
        edited, stats = self.generate(depth, conditioning, structure=structure, content_scale=content_scale,
                                      temporal_scale=temporal_scale, steps=steps, seed=seed, window=window)
        return EditOutput(frames=edited, depth=depth, stats=stats)
