"""The toy Gen-1 stack: the whole architecture at a size a laptop trains in under an hour, for the
toy world (gen1_batch.toy). `toy-init` builds it with seeded random weights (what the toy recipes
start from); `toy` is that stack trained by `python -m gen1_batch.toy.stack`, shipped in the package
(gen1_batch/model/weights/toy) and the default model.

64×64 frames; the autoencoder downsamples 4× to 16×16×4 latents (the patterns of the toy
materials need that much), the UNet 4× more; CLIP and the prior work in a 64-d embedding space;
the tokenizer is character-level (tiny.tiny_tokenizer), long enough for every toy caption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gen1_batch.model.presets.tiny import build_seeded, tiny_text_config, tiny_tokenizer
from gen1_batch.model.settings import COMPONENTS

TOY_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "toy"  # the shipped `toy` model folder

TOY_CONFIGS: dict[str, dict[str, Any]] = {
    "vae": dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(16, 32, 64), latent_channels=4,
                norm_num_groups=8, layers_per_block=1, sample_size=64),
    "unet": dict(sample_size=16, in_channels=8, out_channels=4, layers_per_block=1, block_out_channels=(32, 64, 96),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=64,
                 attention_head_dim=8, norm_num_groups=16),
    "scheduler": dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                      clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction",
                      timestep_spacing="trailing"),
    "depth_estimator": dict(image_size=64, patch_size=8, hidden_size=64, num_hidden_layers=4,
                            backbone_out_indices=[0, 1, 2, 3], num_attention_heads=4, intermediate_size=128,
                            is_hybrid=False, reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[32, 32, 64, 64],
                            fusion_hidden_size=32, head_in_index=-1),
    "image_encoder": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                          image_size=64, patch_size=8, projection_dim=64),
    "text_encoder": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                         max_position_embeddings=160, projection_dim=64),
    "prior": dict(num_attention_heads=4, attention_head_dim=16, num_layers=4, embedding_dim=64, num_embeddings=160,
                  additional_embeddings=4),
    # Our CLIP's image embeddings are not normalised to a range: the prior's x0 is not clipped.
    "prior_scheduler": dict(variance_type="fixed_small_log", clip_sample=False, prediction_type="sample",
                            num_train_timesteps=1000),
    "tokenizer": dict(model_max_length=160),  # the longest toy caption is 142 characters
}

TOY_SETTINGS: dict[str, Any] = {
    "default_steps": 20,
    "default_resolution": 64,
    "resolution_multiple": 16,  # the autoencoder's 4 × the UNet's 4
    "window_length": 8,
    "depth_size": 64,
    "clip_size": 64,
    "prior_steps": 10,
    "prior_guidance_scale": 2.0,
    "random_weights": ["all"],
}


def unit_prior(prior: Any) -> Any:
    """A prior whose embedding statistics are the identity (diffusers starts clip_std at zero, which
    maps every output to the mean): it learns the image embeddings as they are."""
    import torch

    with torch.no_grad():
        prior.clip_mean.zero_()
        prior.clip_std.fill_(1.0)
    return prior


def live_depth_head(depth_estimator: Any) -> Any:
    """DPT's head ends in a ReLU and, at random init, outputs about 0 everywhere (at most 2e-7 for the
    toy's): one step of a scale-invariant loss can push it below zero for good, a constant map that
    learns nothing (the edge-matching depth loss did, at its first step). A positive last bias starts
    every pixel on the ReLU's live side."""
    import torch

    torch.nn.init.constant_(depth_estimator.head.head[-2].bias, 1.0)
    return depth_estimator


def load_toy(names: Iterable[str] | None = None, random_init: bool = False) -> dict[str, Any]:
    """The trained toy stack from the shipped folder (random_init: the same architecture untrained)."""
    from gen1_batch.model.folder import load_folder_components

    if random_init:
        return build_toy(names)
    return load_folder_components(str(TOY_WEIGHTS), list(names or COMPONENTS), "toy")


def build_toy(names: Iterable[str] | None = None, random_init: bool = True) -> dict[str, Any]:
    """The toy stack with seeded random weights; each component's weights depend only on its name."""
    from diffusers import AutoencoderKL, DDIMScheduler, PriorTransformer, UnCLIPScheduler
    from transformers import (
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.unet import Gen1UNet

    c = TOY_CONFIGS
    tokenizer = tiny_tokenizer(c["tokenizer"]["model_max_length"])
    builders: dict[str, Callable[[], Any]] = {
        "vae": lambda: AutoencoderKL(**c["vae"]),
        "unet": lambda: Gen1UNet(dict(c["unet"]), structure_channels=4, temporal_head_dim=16, max_frames=32),
        "scheduler": lambda: DDIMScheduler(**c["scheduler"]),
        "depth_estimator": lambda: live_depth_head(DPTForDepthEstimation(DPTConfig(**c["depth_estimator"]))),
        "image_encoder": lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**c["image_encoder"])),
        "text_encoder": lambda: CLIPTextModelWithProjection(tiny_text_config(tokenizer, c["text_encoder"])),
        "tokenizer": lambda: tokenizer,
        "prior": lambda: unit_prior(PriorTransformer(**c["prior"])),
        "prior_scheduler": lambda: UnCLIPScheduler(**c["prior_scheduler"]),
    }
    return build_seeded(builders, list(names or COMPONENTS), namespace="toy:")
