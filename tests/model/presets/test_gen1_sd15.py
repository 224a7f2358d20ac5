"""gen1-sd15: the full-size parts fit together (checked on the meta device: no memory, no download)."""

import torch
from diffusers import UNet2DConditionModel

from gen1_batch.model.presets import gen1_sd15 as presets
from gen1_batch.model.unet import Gen1UNet


def test_gen1_sd15_content_width_matches_across_clip_prior_and_unet():
    width = presets.SD15_UNET_CONFIG["cross_attention_dim"]
    assert width == presets.CLIP_L_VISION_CONFIG["projection_dim"] == presets.CLIP_L_TEXT_CONFIG["projection_dim"]
    assert width == presets.KARLO_PRIOR_CONFIG["embedding_dim"]
    assert presets.KARLO_PRIOR_CONFIG["num_embeddings"] == presets.CLIP_L_TEXT_CONFIG["max_position_embeddings"]


def test_gen1_sd15_video_unet_extends_sd15_with_structure_input_and_temporal_layers():
    with torch.device("meta"):
        image = UNet2DConditionModel(**presets.SD15_UNET_CONFIG)
        video = Gen1UNet.from_unet2d(image, temporal_head_dim=64, max_frames=32)
    assert (video.spatial.config.in_channels, video.latent_channels) == (8, 4)  # 2 × latent channels
    resnets = sum(type(m).__name__ == "ResnetBlock2D" for m in image.modules())
    transformers = sum(type(m).__name__ == "Transformer2DModel" for m in image.modules())
    assert (len(video.temporal_convs), len(video.temporal_attentions)) == (2 * resnets, transformers) == (44, 16)
    spatial = sum(p.numel() for p in video.spatial.parameters())
    assert spatial - sum(p.numel() for p in image.parameters()) == 320 * 4 * 3 * 3  # the new depth input weights
