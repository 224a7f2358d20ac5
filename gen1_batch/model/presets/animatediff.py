"""The AnimateDiff backends (MotionDepthPipeline): `animatediff-depth`, real edits on public weights (SD 1.5,
AnimateDiff motion modules, a depth ControlNet, IP-Adapter, DPT-Hybrid), and `tiny-animatediff`, the same
diffusers classes at toy size with seeded random weights (tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gen1_batch.model.presets.gen1_sd15 import SD15
from gen1_batch.model.presets.tiny import (
    TINY_CONFIGS,
    build_seeded,
    randomize_zero_weights,
    tiny_text_config,
    tiny_tokenizer,
)
from gen1_batch.model.settings import PIPELINES

MOTION_COMPONENTS = PIPELINES["MotionDepthPipeline"]["components"]
MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-3"
DEPTH_CONTROLNET = "lllyasviel/control_v11f1p_sd15_depth"
IP_ADAPTER = "h94/IP-Adapter"
DPT_HYBRID = "Intel/dpt-hybrid-midas"  # the MiDaS model the depth ControlNet was trained on
# The hub repositories animatediff-depth downloads, each with a file whose presence in the cache shows it is there.
ANIMATEDIFF_HUB_FILES: dict[str, str] = {SD15: "model_index.json", MOTION_ADAPTER: "config.json",
                                         DEPTH_CONTROLNET: "config.json",
                                         IP_ADAPTER: "models/image_encoder/config.json", DPT_HYBRID: "config.json"}

MOTION_SETTINGS: dict[str, Any] = {
    "default_steps": 25,
    "default_resolution": 512,
    "resolution_multiple": 64,
    "window_length": 16,  # the motion modules' training clips
    "max_window": 32,
    "max_batch": 2,  # one window's content and null passes per UNet call: 16 frames at 512² each
    "depth_size": 384,
    "clip_size": 224,
    "controlnet_scale": 1.0,
    "ip_adapter_scale": 0.7,
    "random_weights": [],
}
TINY_MOTION_SETTINGS: dict[str, Any] = {
    **MOTION_SETTINGS, "max_batch": 8, "default_steps": 4, "default_resolution": 64, "resolution_multiple": 16,
    "window_length": 8, "depth_size": 32, "clip_size": 32, "random_weights": ["all"],
}


def _motion_scheduler():
    from diffusers import DDIMScheduler

    # AnimateDiff's recommended sampler: DDIM on SD 1.5's schedule, linear betas, ε-prediction.
    return DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                         clip_sample=False, set_alpha_to_one=False, steps_offset=1, timestep_spacing="linspace",
                         prediction_type="epsilon")


def build_tiny_animatediff(names: Iterable[str] | None = None, random_init: bool = True) -> dict[str, Any]:
    """The AnimateDiff + depth ControlNet + IP-Adapter backend at toy size, seeded random weights."""
    from diffusers import AutoencoderKL, ControlNetModel, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from transformers import (
        CLIPTextModel,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.pipeline_motion import IPAdapterWeights, ip_hidden_sizes

    c = TINY_CONFIGS
    names = list(names or MOTION_COMPONENTS)
    tokenizer = tiny_tokenizer()

    def image_unet() -> UNet2DConditionModel:
        return UNet2DConditionModel(**{**c["unet"], "in_channels": 4})

    def unet() -> UNetMotionModel:
        adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1,
                                motion_mid_block_layers_per_block=1, motion_num_attention_heads=2,
                                motion_norm_num_groups=8, motion_max_seq_length=32)
        model = UNetMotionModel.from_unet2d(image_unet(), adapter)
        randomize_zero_weights(p for name, p in model.named_parameters() if "motion_modules" in name)
        return model

    def ip_adapter() -> IPAdapterWeights:
        return IPAdapterWeights(image_embed_dim=16, cross_attention_dim=32, hidden_sizes=ip_hidden_sizes(image_unet()))

    builders: dict[str, Callable[[], Any]] = {
        "vae": lambda: AutoencoderKL(**c["vae"]),
        "unet": unet,
        "controlnet": lambda: ControlNetModel.from_unet(image_unet(),
                                                        conditioning_embedding_out_channels=(8, 16, 16, 32)),
        "scheduler": _motion_scheduler,
        "depth_estimator": lambda: DPTForDepthEstimation(DPTConfig(**c["depth_estimator"])),
        "image_encoder": lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**{**c["image_encoder"],
                                                                                  "projection_dim": 16})),
        "text_encoder": lambda: CLIPTextModel(tiny_text_config(tokenizer)),
        "tokenizer": lambda: tokenizer,
        "ip_adapter": ip_adapter,
    }
    return build_seeded(builders, names, namespace="animatediff:")


def build_animatediff_depth(names: Iterable[str] | None = None, random_init: bool = False) -> dict[str, Any]:
    """Real edits on public weights: SD 1.5 + the AnimateDiff v1.5.3 motion adapter + the depth
    ControlNet v1.1 + IP-Adapter (SD 1.5, CLIP ViT-H image encoder) + DPT-Hybrid (MiDaS) for depth.
    Downloads from the Hugging Face hub (or uses its cache); `random_init` builds the same
    architecture with random weights and no download (benchmarks: the architecture is what costs)."""
    from diffusers import AutoencoderKL, ControlNetModel, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from huggingface_hub import hf_hub_download
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection, DPTForDepthEstimation

    from gen1_batch.model.pipeline_motion import IPAdapterWeights

    names = list(names or MOTION_COMPONENTS)
    loaders: dict[str, Callable[[], Any]] = _random_builders() if random_init else {
        "vae": lambda: AutoencoderKL.from_pretrained(SD15, subfolder="vae"),
        "unet": lambda: UNetMotionModel.from_unet2d(UNet2DConditionModel.from_pretrained(SD15, subfolder="unet"),
                                                    MotionAdapter.from_pretrained(MOTION_ADAPTER)),
        "controlnet": lambda: ControlNetModel.from_pretrained(DEPTH_CONTROLNET),
        "scheduler": _motion_scheduler,
        "depth_estimator": lambda: DPTForDepthEstimation.from_pretrained(DPT_HYBRID),
        "image_encoder": lambda: CLIPVisionModelWithProjection.from_pretrained(IP_ADAPTER,
                                                                               subfolder="models/image_encoder"),
        "text_encoder": lambda: CLIPTextModel.from_pretrained(SD15, subfolder="text_encoder"),
        "tokenizer": lambda: CLIPTokenizer.from_pretrained(SD15, subfolder="tokenizer"),
        "ip_adapter": lambda: IPAdapterWeights.from_diffusers_state_dict(_ip_adapter_state(
            load_file(hf_hub_download(IP_ADAPTER, "ip-adapter_sd15.safetensors", subfolder="models")))),
    }
    out = {name: loaders[name]() for name in names}
    for module in out.values():
        if hasattr(module, "eval"):
            module.eval()
    return out


def _random_builders() -> dict[str, Callable[[], Any]]:
    """animatediff-depth's architecture with random weights, from the public models' configs."""
    from diffusers import AutoencoderKL, ControlNetModel, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.pipeline_motion import IPAdapterWeights, ip_hidden_sizes
    from gen1_batch.model.presets.gen1_sd15 import CLIP_L_TEXT_CONFIG, SD15_UNET_CONFIG, SD15_VAE_CONFIG

    return {
        "vae": lambda: AutoencoderKL(**SD15_VAE_CONFIG),
        # MotionAdapter's defaults are the v1.5 layout (4 levels, 2 motion layers a block, 32 frames).
        "unet": lambda: UNetMotionModel.from_unet2d(UNet2DConditionModel(**SD15_UNET_CONFIG), MotionAdapter()),
        "controlnet": lambda: ControlNetModel.from_unet(UNet2DConditionModel(**SD15_UNET_CONFIG)),
        "scheduler": _motion_scheduler,
        "depth_estimator": lambda: DPTForDepthEstimation(DPTConfig(**DPT_HYBRID_CONFIG)),
        "image_encoder": lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_H_VISION_CONFIG)),
        "text_encoder": lambda: CLIPTextModel(CLIPTextConfig(**CLIP_L_TEXT_CONFIG)),
        "tokenizer": lambda: tiny_tokenizer(CLIP_L_TEXT_CONFIG["max_position_embeddings"]),
        "ip_adapter": lambda: IPAdapterWeights(
            image_embed_dim=CLIP_H_VISION_CONFIG["projection_dim"], cross_attention_dim=768,
            hidden_sizes=ip_hidden_sizes(UNet2DConditionModel(**SD15_UNET_CONFIG))),
    }


# Architecture configs of the public models only this backend uses, for random-weight builds.
CLIP_H_VISION_CONFIG = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                            image_size=224, patch_size=14, projection_dim=1024)
DPT_HYBRID_CONFIG = dict(is_hybrid=True, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, image_size=384, patch_size=16, backbone_out_indices=[2, 5, 8, 11],
                         neck_hidden_sizes=[256, 512, 768, 768], reassemble_factors=[1, 1, 1, 0.5],
                         fusion_hidden_size=256, backbone_featmap_shape=[1, 1024, 24, 24])


def _ip_adapter_state(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """h94's safetensors keys ("image_proj.proj.weight", "ip_adapter.1.to_k_ip.weight") as diffusers' two dicts."""
    state: dict[str, dict[str, Any]] = {"image_proj": {}, "ip_adapter": {}}
    for key, value in flat.items():
        part, _, rest = key.partition(".")
        state[part][rest] = value
    return state
