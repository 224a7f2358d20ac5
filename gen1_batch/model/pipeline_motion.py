"""MotionDepthPipeline: real edits on public weights under the Gen-1 controls.

Stable Diffusion 1.5 with AnimateDiff motion modules (the temporal layers), a depth ControlNet (the
structure) and an IP-Adapter (the content from a reference image's CLIP embedding, like Gen-1's
content path), built with diffusers' own classes. It shares everything else with the Gen-1
model: depth, windows, guidance and the sampling loop (see VideoEditPipeline); only the denoiser
differs:

* structure: the depth map obscured t_s levels exactly as for Gen-1, as the ControlNet's image;
* content_scale ω: classifier-free guidance over the text and image-prompt condition;
* temporal_scale ω_t: the paper's temporal guidance, motion modules on (video) or bypassed (the
  image model on each frame).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
from diffusers import AutoencoderKL, ConfigMixin, ControlNetModel, ModelMixin, SchedulerMixin, UNetMotionModel
from diffusers.configuration_utils import register_to_config
from diffusers.models.attention_processor import IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from transformers import CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection, DPTForDepthEstimation

from gen1_batch.model.base import VideoEditPipeline, as_tensor
from gen1_batch.model.content import clip_preprocess, embed_images
from gen1_batch.model.sampler import Conditioning
from gen1_batch.model.settings import PIPELINES
from gen1_batch.model.structure import obscure_depth

IP_TOKENS = 4  # image tokens of the (base) IP-Adapter


def ip_hidden_sizes(unet: nn.Module) -> list[int]:
    """The width of each cross-attention layer an IP-Adapter extends, in the order its weights are
    numbered (diffusers' rule: the block's channels, read from the processor's name)."""
    channels = list(unet.config.block_out_channels)
    sizes = []
    for name in unet.attn_processors:
        if name.endswith("attn1.processor") or "motion_modules" in name:
            continue
        if name.startswith("mid_block"):
            sizes.append(channels[-1])
        elif name.startswith("up_blocks"):
            sizes.append(channels[::-1][int(name.split(".")[1])])
        else:
            sizes.append(channels[int(name.split(".")[1])])
    return sizes


class IPAdapterWeights(ModelMixin, ConfigMixin):
    """IP-Adapter weights as a component of their own: saved and loaded like the others, and
    attached to the UNet (diffusers' IP-Adapter processors) when the pipeline is built."""

    @register_to_config
    def __init__(self, image_embed_dim: int, cross_attention_dim: int, hidden_sizes: list[int],
                 num_tokens: int = IP_TOKENS):
        super().__init__()
        self.proj = nn.Linear(image_embed_dim, cross_attention_dim * num_tokens)
        self.norm = nn.LayerNorm(cross_attention_dim)
        self.to_k_ip = nn.ModuleList(nn.Linear(cross_attention_dim, h, bias=False) for h in hidden_sizes)
        self.to_v_ip = nn.ModuleList(nn.Linear(cross_attention_dim, h, bias=False) for h in hidden_sizes)

    def diffusers_state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """The weights in the layout diffusers' IP-Adapter loader takes (the h94/IP-Adapter files')."""
        image_proj = {f"{n}.{p}": t for n in ("proj", "norm") for p, t in getattr(self, n).state_dict().items()}
        layers = {}
        for i, (k, v) in enumerate(zip(self.to_k_ip, self.to_v_ip, strict=True)):
            layers[f"{2 * i + 1}.to_k_ip.weight"] = k.weight
            layers[f"{2 * i + 1}.to_v_ip.weight"] = v.weight
        return {"image_proj": image_proj, "ip_adapter": layers}

    @classmethod
    def from_diffusers_state_dict(cls, state: dict[str, dict[str, torch.Tensor]]) -> IPAdapterWeights:
        proj = state["image_proj"]["proj.weight"]
        keys = sorted(state["ip_adapter"], key=lambda k: int(k.split(".")[0]))
        hidden = [state["ip_adapter"][k].shape[0] for k in keys if k.endswith("to_k_ip.weight")]
        model = cls(proj.shape[1], proj.shape[0] // IP_TOKENS, hidden)
        model.proj.load_state_dict({"weight": proj, "bias": state["image_proj"]["proj.bias"]})
        model.norm.load_state_dict({"weight": state["image_proj"]["norm.weight"],
                                    "bias": state["image_proj"]["norm.bias"]})
        for i in range(len(hidden)):
            model.to_k_ip[i].weight.data.copy_(state["ip_adapter"][f"{2 * i + 1}.to_k_ip.weight"])
            model.to_v_ip[i].weight.data.copy_(state["ip_adapter"][f"{2 * i + 1}.to_v_ip.weight"])
        return model


class _MotionBypass:
    """Runs the motion modules on the clips in video mode only; clips in image mode skip them (ε^π,
    the image model on each frame). Skipping, rather than discarding their output, saves their cost,
    and keeps the image pass (a batch of one-frame clips) from sending b·h·w one-frame sequences
    through attention: at 512² that is past what a CUDA launch takes (seen on an H100)."""

    def __init__(self) -> None:
        self.num_frames = 1
        self.video: tuple[bool, ...] | None = None  # per clip, on the host (no device sync per module)

    def wrap(self, module: nn.Module) -> None:
        run = module.forward

        def forward(hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            if self.video is None or all(self.video):
                return run(hidden_states, *args, **kwargs)
            chosen = [i for i, v in enumerate(self.video) if v]
            if not chosen:
                return hidden_states
            clips = hidden_states.unflatten(0, (-1, self.num_frames))
            out = clips.clone()
            out[chosen] = run(clips[chosen].flatten(0, 1), *args, **kwargs).unflatten(0, (-1, self.num_frames))
            return out.flatten(0, 1)

        module.forward = forward


class MotionDepthPipeline(VideoEditPipeline):
    model_cpu_offload_seq = "text_encoder->image_encoder->depth_estimator->controlnet->unet->vae"
    _optional_components: ClassVar[list[str]] = list(PIPELINES["MotionDepthPipeline"]["components"])

    def __init__(
        self,
        vae: AutoencoderKL | None = None,
        unet: UNetMotionModel | None = None,
        controlnet: ControlNetModel | None = None,
        scheduler: SchedulerMixin | None = None,
        depth_estimator: DPTForDepthEstimation | None = None,
        image_encoder: CLIPVisionModelWithProjection | None = None,
        text_encoder: CLIPTextModel | None = None,
        tokenizer: CLIPTokenizer | None = None,
        ip_adapter: IPAdapterWeights | None = None,
        settings: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.register_modules(vae=vae, unet=unet, controlnet=controlnet, scheduler=scheduler,
                              depth_estimator=depth_estimator, image_encoder=image_encoder,
                              text_encoder=text_encoder, tokenizer=tokenizer, ip_adapter=ip_adapter)
        self._register_settings(settings)
        self._bypass = _MotionBypass()
        self._plain_processors: dict[str, Any] | None = None
        if unet is not None:
            for module in unet.modules():
                if isinstance(module, AnimateDiffTransformer3D):
                    self._bypass.wrap(module)
            if ip_adapter is not None:
                self._attach_ip_adapter()

    # ------------------------------------------------------------------------------------- IP-Adapter

    def _attach_ip_adapter(self) -> None:
        self._plain_processors = dict(self.unet.attn_processors)
        self.unet._load_ip_adapter_weights([self.ip_adapter.diffusers_state_dict()])

    def _detach_ip_adapter(self) -> None:
        self.unet.set_attn_processor(self._plain_processors)
        self.unet.encoder_hid_proj = None
        self.unet.config.encoder_hid_dim_type = None

    def _set_ip_scale(self, scale: float) -> None:
        for processor in self.unet.attn_processors.values():
            if isinstance(processor, (IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0)):
                processor.scale = [scale]

    def save_pretrained(self, *args: Any, **kwargs: Any) -> None:
        """The UNet is saved as it was loaded; the IP-Adapter is saved as its own component."""
        attached = self._plain_processors is not None
        if attached:
            self._detach_ip_adapter()
        try:
            super().save_pretrained(*args, **kwargs)
        finally:
            if attached:
                self._attach_ip_adapter()

    # -------------------------------------------------------------------------------------------- stages

    @torch.no_grad()
    def encode_content(self, prompt: str | None = None, image: np.ndarray | None = None,
                       negative_prompt: str | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Text states for cross-attention (the negative prompt's, or the empty prompt's, as ∅) and,
        with a reference image, its CLIP image embedding for the IP-Adapter (zeros as ∅)."""
        if prompt is None and image is None:
            raise ValueError("content needs a prompt, an image prompt or both")
        self._require("text_encoder", "tokenizer")
        tokens = self.tokenizer([prompt or "", negative_prompt or ""], padding="max_length",
                                max_length=self.tokenizer.model_max_length, truncation=True, return_tensors="pt")
        states = self.text_encoder(tokens.input_ids.to(self.text_encoder.device))[0].float().cpu().numpy()
        conditioning = {"text": states[0], "null_text": states[1]}
        if image is not None:
            self._require("image_encoder")
            s = self.settings
            pixels = clip_preprocess(as_tensor(np.ascontiguousarray(image))[None].to(self.image_encoder.device),
                                     s["clip_size"], s["clip_mean"], s["clip_std"])
            embedding = embed_images(self.image_encoder, pixels)[0].float().cpu().numpy()
            conditioning.update(image=embedding, null_image=np.zeros_like(embedding))
        return conditioning

    def prepare_structure(self, depth: np.ndarray, level: int) -> torch.Tensor:
        """The ControlNet's image: depth obscured t_s levels, grey in [0, 1], 1×3×f×h×w."""
        d = obscure_depth(as_tensor(depth).float(), level)
        return d[None, None].expand(1, 3, -1, -1, -1).to(self.controlnet.device, self.controlnet.dtype)

    def prepare_conditioning(self, conditioning: dict[str, np.ndarray]) -> tuple[Conditioning, Conditioning]:
        device, dtype = self.unet.device, self.unet.dtype
        has_image = "image" in conditioning
        # A text-only shot runs without an image condition: the IP-Adapter's share is zero.
        self._set_ip_scale(self.settings["ip_adapter_scale"] if has_image else 0.0)
        embed_dim = self.ip_adapter.config.image_embed_dim if self.ip_adapter is not None else 0

        def image(name: str) -> torch.Tensor | None:
            if self.ip_adapter is None:
                return None
            values = conditioning[name] if has_image else np.zeros(embed_dim, np.float32)
            return as_tensor(values).to(device, dtype)[None, None]

        text = as_tensor(conditioning["text"]).to(device, dtype)[None]
        null_text = as_tensor(conditioning["null_text"]).to(device, dtype)[None]
        return (text, image("image")), (null_text, image("null_image"))

    @property
    def latent_channels(self) -> int:
        return self.unet.config.in_channels

    def _denoise(self, sample: torch.Tensor, t: torch.Tensor, content: Conditioning, structure: torch.Tensor,
                 video: torch.Tensor) -> torch.Tensor:
        text, image = content
        frames = sample.shape[2]
        text = text.repeat_interleave(frames, dim=0)  # per frame, as the motion UNet takes it
        down, mid = self.controlnet(
            sample.transpose(1, 2).flatten(0, 1), t, encoder_hidden_states=text,
            controlnet_cond=structure.transpose(1, 2).flatten(0, 1),
            conditioning_scale=self.settings["controlnet_scale"], return_dict=False)
        self._bypass.num_frames, self._bypass.video = frames, tuple(bool(v) for v in video.tolist())
        try:
            return self.unet(sample, t, encoder_hidden_states=text,
                             added_cond_kwargs={"image_embeds": [image]} if image is not None else None,
                             down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
        finally:
            self._bypass.video = None
