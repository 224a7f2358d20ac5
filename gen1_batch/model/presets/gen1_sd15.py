"""The `gen1-sd15` preset: the paper's architecture at full size, assembled from public weights (see
`build_gen1_sd15`), and the architecture configs of those public models for random-weight builds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gen1_batch.model.presets.tiny import tiny_tokenizer
from gen1_batch.model.settings import COMPONENTS

SD15 = "stable-diffusion-v1-5/stable-diffusion-v1-5"
CLIP_L = "openai/clip-vit-large-patch14"
KARLO = "kakaobrain/karlo-v1-alpha"
DPT_LARGE = "Intel/dpt-large"
# The hub repositories it downloads, each with a file whose presence in the cache shows it is there.
GEN1_SD15_HUB_FILES: dict[str, str] = {SD15: "model_index.json", CLIP_L: "config.json", KARLO: "model_index.json",
                                       DPT_LARGE: "config.json"}

GEN1_SD15_SETTINGS: dict[str, Any] = {
    "default_steps": 50,
    "max_batch": 4,  # clips of 8 frames at 512² per UNet call
    "default_resolution": 512,
    "resolution_multiple": 64,
    "window_length": 8,
    "depth_size": 384,
    "clip_size": 224,
    "prior_steps": 25,
    "prior_guidance_scale": 4.0,
    # The paper's weights were never released: only the spatial layers come trained.
    "random_weights": ["unet.temporal", "unet.structure_input"],
}


def build_gen1_sd15(names: Iterable[str] | None = None, random_init: bool = False) -> dict[str, Any]:
    """The paper's architecture on public weights: the spatial UNet and autoencoder of Stable Diffusion
    1.5 (ε-prediction, as its weights were trained), CLIP ViT-L/14 image and text towers (768-d, the
    UNet's cross-attention width), the Karlo unCLIP prior in the same CLIP space, and DPT-Large (MiDaS)
    for depth. The temporal layers and structure input are untrained: they start as the identity and
    zero, so until the model is trained it edits like the image model on each frame.

    Downloads from the Hugging Face hub (or uses its cache); `random_init` builds the same
    architecture with random weights and no download.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, PriorTransformer, UnCLIPScheduler, UNet2DConditionModel
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.unet import Gen1UNet

    names = list(names or COMPONENTS)
    out: dict[str, Any] = {}
    for name in names:
        if name == "vae":
            out[name] = (AutoencoderKL(**SD15_VAE_CONFIG) if random_init
                         else AutoencoderKL.from_pretrained(SD15, subfolder="vae"))
        elif name == "unet":
            image_unet = (UNet2DConditionModel(**SD15_UNET_CONFIG) if random_init
                          else UNet2DConditionModel.from_pretrained(SD15, subfolder="unet"))
            out[name] = Gen1UNet.from_unet2d(image_unet, temporal_head_dim=64, max_frames=32)
        elif name == "scheduler":
            out[name] = DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                                      beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                                      prediction_type="epsilon", timestep_spacing="trailing")
        elif name == "depth_estimator":
            out[name] = (DPTForDepthEstimation(DPTConfig(**DPT_LARGE_CONFIG)) if random_init
                         else DPTForDepthEstimation.from_pretrained(DPT_LARGE))
        elif name == "image_encoder":
            out[name] = (CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_L_VISION_CONFIG)) if random_init
                         else CLIPVisionModelWithProjection.from_pretrained(CLIP_L))
        elif name == "text_encoder":
            out[name] = (CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_L_TEXT_CONFIG)) if random_init
                         else CLIPTextModelWithProjection.from_pretrained(KARLO, subfolder="text_encoder"))
        elif name == "tokenizer":
            out[name] = (tiny_tokenizer(CLIP_L_TEXT_CONFIG["max_position_embeddings"]) if random_init
                         else CLIPTokenizer.from_pretrained(KARLO, subfolder="tokenizer"))
        elif name == "prior":
            out[name] = (PriorTransformer(**KARLO_PRIOR_CONFIG) if random_init
                         else PriorTransformer.from_pretrained(KARLO, subfolder="prior"))
        elif name == "prior_scheduler":
            out[name] = UnCLIPScheduler(variance_type="fixed_small_log", clip_sample=True, clip_sample_range=5.0,
                                        prediction_type="sample", num_train_timesteps=1000)
        else:
            raise KeyError(name)
        if isinstance(out[name], torch.nn.Module):
            out[name].eval()
    return out


# Architecture configs of the public models, for random-weight builds (benchmarks) without downloads.
SD15_UNET_CONFIG = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
)
SD15_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32,
    sample_size=512, scaling_factor=0.18215,
)
CLIP_L_VISION_CONFIG = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                            image_size=224, patch_size=14, projection_dim=768)
CLIP_L_TEXT_CONFIG = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                          max_position_embeddings=77, projection_dim=768, vocab_size=49408)
KARLO_PRIOR_CONFIG = dict(num_attention_heads=32, attention_head_dim=64, num_layers=20, embedding_dim=768,
                          num_embeddings=77, additional_embeddings=4)
DPT_LARGE_CONFIG = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                        image_size=384, patch_size=16, backbone_out_indices=[5, 11, 17, 23],
                        neck_hidden_sizes=[256, 512, 1024, 1024], reassemble_factors=[4, 2, 1, 0.5],
                        fusion_hidden_size=256, is_hybrid=False)
