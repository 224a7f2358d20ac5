"""The Gen-1 video UNet: an image UNet with temporal layers that run on video only.

The spatial network is an unmodified diffusers `UNet2DConditionModel` (`self.spatial`); its input
takes the noisy latent and the structure latent concatenated. Temporal layers are attached with
forward hooks, so the image model stays exactly the image model:

* after each 2D convolution of a residual block, a 1D convolution over frames, (b·h·w)×c×f;
* after each spatial transformer (self- and cross-attention), self-attention over frames with a
  learned frame-position encoding, (b·h·w)×f×c.

Spatial layers see (b·f)×c×h×w. Each clip of a batch is run in video mode (temporal layers on) or
image mode (every frame alone: ε^π), so the passes of a guidance step share one forward.
Both temporal layer kinds are residual with a zero-initialised output, so a freshly built video
UNet equals its image UNet applied to each frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin, UNet2DConditionModel
from diffusers.configuration_utils import register_to_config
from diffusers.models.attention_processor import Attention
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from diffusers.utils import BaseOutput


class _FrameContext:
    """What the temporal layers need to know during one forward: frames per clip and which clips are
    video. Kept as a mode ("off", "all", "some") rather than a flag per clip, so torch.compile guards
    on one string, not on every clip's flag: a new batch size does not compile again."""

    def __init__(self) -> None:
        self.num_frames = 1
        self.mode = "off"  # outside a forward, or no clip in video mode
        self.chosen: tuple[int, ...] = ()  # the video clips when mode is "some"

    def set(self, num_frames: int, video: tuple[bool, ...]) -> None:
        chosen = tuple(i for i, v in enumerate(video) if v)
        self.num_frames, self.chosen = num_frames, ()
        if num_frames == 1 or not chosen:
            self.mode = "off"
        elif len(chosen) == len(video):
            self.mode = "all"
        else:
            self.mode, self.chosen = "some", chosen


class _TemporalLayer(nn.Module):
    """Applies `temporal` to the clips in video mode; (b·f)×c×h×w in and out."""

    def __init__(self, context: _FrameContext):
        super().__init__()
        self._context = [context]  # a list keeps it out of the module tree

    def temporal(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:  # x: b×f×c×h×w
        raise NotImplementedError

    def run_on_video(self, x: torch.Tensor) -> torch.Tensor:
        ctx = self._context[0]
        if ctx.mode == "off":
            return x
        f = ctx.num_frames
        clips = x.unflatten(0, (-1, f))
        if ctx.mode == "all":
            return self.temporal(clips, f).flatten(0, 1)
        chosen = list(ctx.chosen)
        out = clips.clone()
        out[chosen] = self.temporal(clips[chosen], f)
        return out.flatten(0, 1)

    def hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        if isinstance(output, tuple):  # transformer blocks return (hidden_states,)
            return (self.run_on_video(output[0]), *output[1:])
        if isinstance(output, BaseOutput):
            output.sample = self.run_on_video(output.sample)
            return output
        return self.run_on_video(output)


class TemporalConv(_TemporalLayer):
    """x + conv1d_over_frames(silu(norm(x))), per pixel; zero-initialised, so the identity at first."""

    def __init__(self, context: _FrameContext, channels: int, kernel_size: int, norm_groups: int):
        super().__init__(context)
        self.norm = nn.GroupNorm(norm_groups, channels)
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, padding_mode="replicate")
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def temporal(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        b, f, c, h, w = x.shape
        y = F.silu(self.norm(x.transpose(1, 2)))  # b×c×f×h×w: statistics over the whole clip
        y = y.permute(0, 3, 4, 1, 2).reshape(b * h * w, c, f)  # (b·h·w)×c×f
        y = self.conv(y)
        y = y.reshape(b, h, w, c, f).permute(0, 4, 3, 1, 2)
        return x + y


class TemporalAttention(_TemporalLayer):
    """x + attention_over_frames(norm(x) + frame_position); zero-initialised output projection."""

    def __init__(self, context: _FrameContext, channels: int, head_dim: int, max_frames: int):
        super().__init__(context)
        heads = max(1, channels // head_dim)
        self.norm = nn.LayerNorm(channels)
        self.frame_position = nn.Parameter(torch.randn(max_frames, channels) * 0.02)
        self.attention = Attention(query_dim=channels, heads=heads, dim_head=channels // heads, bias=True)
        nn.init.zeros_(self.attention.to_out[0].weight)
        nn.init.zeros_(self.attention.to_out[0].bias)

    def temporal(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        b, f, c, h, w = x.shape
        if f > self.frame_position.shape[0]:
            raise ValueError(f"{f} frames in one window, but the model has frame positions for "
                             f"{self.frame_position.shape[0]}; use a smaller window")
        y = x.permute(0, 3, 4, 1, 2).reshape(b * h * w, f, c)  # (b·h·w)×f×c
        y = self.attention(self.norm(y) + self.frame_position[:f])
        y = y.reshape(b, h, w, f, c).permute(0, 3, 4, 1, 2)
        return x + y


@dataclass
class Gen1UNetOutput(BaseOutput):
    sample: torch.Tensor  # b×c×f×h×w


class Gen1UNet(ModelMixin, ConfigMixin):
    """Spatio-temporal latent diffusion UNet conditioned on structure (concatenated) and content
    (cross-attention on one CLIP image embedding).

    With `encoder_hid_dim_type="image_proj"` in the image UNet's config the embedding is first
    projected to several tokens (diffusers' ImageProjection, as Kandinsky 2.2's decoder): with one
    token, cross-attention adds the same vector at every position, and a token per part of the
    content lets each position read its own part (an object its colour, the floor its own). The
    paper and the shipped `toy` use one token; the toy UNet trained with tokens is measured in
    benchmarks/RESULTS.md. With `class_embed_type="projection"` (as Stable unCLIP) the embedding is
    also added to the timestep embedding, which reaches every resnet, the finest level too."""

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, unet: dict[str, Any], structure_channels: int = 4, temporal_kernel_size: int = 3,
                 temporal_head_dim: int = 64, max_frames: int = 32):
        super().__init__()
        self.spatial = UNet2DConditionModel(**unet)
        self._frames = _FrameContext()
        norm_groups = self.spatial.config.norm_num_groups
        convs, attentions = [], []
        for module in self.spatial.modules():
            if isinstance(module, ResnetBlock2D):
                for conv in (module.conv1, module.conv2):
                    layer = TemporalConv(self._frames, conv.out_channels, temporal_kernel_size, norm_groups)
                    conv.register_forward_hook(layer.hook)
                    convs.append(layer)
            elif isinstance(module, Transformer2DModel):
                channels = module.config.in_channels
                layer = TemporalAttention(self._frames, channels, temporal_head_dim, max_frames)
                module.register_forward_hook(layer.hook)
                attentions.append(layer)
        self.temporal_convs = nn.ModuleList(convs)
        self.temporal_attentions = nn.ModuleList(attentions)

    @property
    def latent_channels(self) -> int:
        return self.spatial.config.in_channels - self.config.structure_channels

    @property
    def content_dim(self) -> int:
        return self.spatial.config.encoder_hid_dim or self.spatial.config.cross_attention_dim

    @property
    def content_tokens(self) -> bool:
        """Whether the content is projected to tokens (the image UNet's `image_proj`)."""
        return self.spatial.config.encoder_hid_dim_type == "image_proj"

    @property
    def content_in_time(self) -> bool:
        """Whether the content is also added to the timestep embedding (`class_embed_type="projection"`)."""
        return self.spatial.config.class_embed_type == "projection"

    def temporal_parameters(self) -> list[nn.Parameter]:
        return [*self.temporal_convs.parameters(), *self.temporal_attentions.parameters()]

    @classmethod
    def from_unet2d(cls, image_unet: UNet2DConditionModel, structure_channels: int | None = None,
                    temporal_kernel_size: int = 3, temporal_head_dim: int = 64, max_frames: int = 32) -> Gen1UNet:
        """Extend an image UNet (SD 1.5 / 2.1 layout) to video, keeping its predictions on each frame:
        the structure input channels start at zero and the temporal layers start as the identity."""
        latent = image_unet.config.in_channels
        structure_channels = latent if structure_channels is None else structure_channels
        config = {k: v for k, v in image_unet.config.items() if not k.startswith("_")}
        config["in_channels"] = latent + structure_channels
        model = cls(config, structure_channels, temporal_kernel_size, temporal_head_dim, max_frames)
        state = image_unet.state_dict()
        conv_in = state["conv_in.weight"]
        state["conv_in.weight"] = torch.cat([conv_in, conv_in.new_zeros(
            conv_in.shape[0], structure_channels, *conv_in.shape[2:])], dim=1)
        model.spatial.load_state_dict(state)
        return model.to(dtype=image_unet.dtype)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | float | int,
                encoder_hidden_states: torch.Tensor, structure: torch.Tensor,
                video: torch.Tensor | bool = True, return_dict: bool = True) -> Gen1UNetOutput | tuple:
        """Predict for b clips.

        sample, structure: b×c×f×h×w latents. encoder_hidden_states: b×d or b×n×d content.
        video: one bool per clip (or one for all); False runs that clip as f independent images.
        Give them as bools or a CPU tensor: flags on the GPU cost a sync to read.
        """
        b, _, f = sample.shape[:3]
        video = tuple(bool(v) for v in video.tolist()) if torch.is_tensor(video) else video
        video = (bool(video),) * b if isinstance(video, bool) else tuple(video)
        if not self.content_tokens and encoder_hidden_states.ndim == 2:
            encoder_hidden_states = encoder_hidden_states[:, None]
        content = encoder_hidden_states.repeat_interleave(f, dim=0)  # each frame is an image to the spatial UNet
        # With content tokens the image UNet projects `image_embeds` and ignores encoder_hidden_states.
        added = {"image_embeds": content} if self.content_tokens else None
        labels = content.flatten(1) if self.content_in_time else None
        timestep = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b)

        x = torch.cat([sample, structure], dim=1).transpose(1, 2).flatten(0, 1)  # (b·f)×c×h×w
        self._frames.set(f, video)
        try:
            out = self.spatial(
                x,
                timestep.repeat_interleave(f),
                encoder_hidden_states=content,
                class_labels=labels,
                added_cond_kwargs=added,
                return_dict=False,
            )[0]
        finally:
            # With gradient checkpointing the temporal layers run again in the backward pass and need
            # the clips' frames and modes then too: the context stays until the next forward.
            if not (torch.is_grad_enabled() and self.is_gradient_checkpointing):
                self._frames.set(1, ())
        out = out.unflatten(0, (b, f)).transpose(1, 2)
        return Gen1UNetOutput(sample=out) if return_dict else (out,)
