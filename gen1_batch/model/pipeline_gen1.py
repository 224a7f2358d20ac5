"""Gen1Pipeline: structure- and content-guided video editing (Esser et al. 2023), diffusers style.

The Gen-1 model: structure is the obscured depth encoded by the autoencoder and concatenated to the
noisy latent; content is a CLIP image embedding (from the reference image, or from the prompt
through an unCLIP prior) fed by cross-attention. `__call__` (see VideoEditPipeline) reads top to
bottom; the batch job runs the same methods as separate Ray stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import AutoencoderKL, PriorTransformer, SchedulerMixin, UnCLIPScheduler
from transformers import (
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionModelWithProjection,
    DPTForDepthEstimation,
)

from gen1_batch.model.base import VideoEditPipeline, as_tensor, noise_generator
from gen1_batch.model.content import clip_preprocess, embed_images, encode_text, prior_image_embeddings
from gen1_batch.model.sampler import Conditioning
from gen1_batch.model.settings import PIPELINES
from gen1_batch.model.structure import obscure_depth
from gen1_batch.model.unet import Gen1UNet


class Gen1Pipeline(VideoEditPipeline):
    model_cpu_offload_seq = "text_encoder->prior->image_encoder->depth_estimator->vae->unet"
    # Every component is optional: each batch stage loads only its own (see settings.PIPELINES).
    _optional_components: ClassVar[list[str]] = list(PIPELINES["Gen1Pipeline"]["components"])

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
        self._register_settings(settings)

    @torch.no_grad()
    def encode_content(self, prompt: str | None = None, image: np.ndarray | None = None,
                       negative_prompt: str | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """The content c and null content ∅ as CLIP image embeddings (d each).

        c comes from the reference image, or from the prompt through the prior; given both, it is
        their mean. ∅ is zero, or the negative prompt's embedding when there is one.
        """
        if prompt is None and image is None:
            raise ValueError("content needs a prompt, an image prompt or both")
        s = self.settings
        generator = noise_generator(seed, "prior")  # not the video noise's first numbers
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
        return {"content": content.cpu().numpy(), "null": null.cpu().numpy()}

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

        def images() -> Iterator[torch.Tensor]:
            for i in range(0, len(depth), batch):
                d = as_tensor(depth[i: i + batch]).to(self.vae.device, torch.float32)
                yield (obscure_depth(d, level) * 2 - 1)[:, None].expand(-1, 3, -1, -1)

        return self.encode_images(images(), *depth.shape[1:3])

    def prepare_structure(self, depth: np.ndarray, level: int) -> torch.Tensor:
        return self.encode_structure(depth, level).to(self.unet.device, self.unet.dtype)

    def prepare_conditioning(self, conditioning: dict[str, np.ndarray]) -> tuple[Conditioning, Conditioning]:
        device, dtype = self.unet.device, self.unet.dtype
        return (as_tensor(conditioning["content"]).to(device, dtype)[None],
                as_tensor(conditioning["null"]).to(device, dtype)[None])

    @property
    def latent_channels(self) -> int:
        return self.unet.latent_channels

    def _denoise(self, sample: torch.Tensor, t: torch.Tensor, content: Conditioning, structure: torch.Tensor,
                 video: torch.Tensor) -> torch.Tensor:
        return self.unet(sample, t, content, structure, video=video).sample
