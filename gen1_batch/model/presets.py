"""Named models. `tiny` is built in-process from small configs with seeded random weights (no
download, seconds on CPU) for tests and trying the pipeline; `gen1-sd15` is the paper's
architecture at full size, assembled from public weights (see `build_gen1_sd15`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gen1_batch.model.settings import COMPONENTS, DEFAULT_SETTINGS

TINY_SEED = 1234


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings: dict[str, Any]
    components: dict[str, str]  # component -> where its weights come from
    licences: tuple[str, ...] = ()
    pipeline: str = "Gen1Pipeline"
    # Builds the requested components (all when None); `random_init` gives untrained weights of the
    # same architecture (for speed benchmarks without downloads).
    build: Callable[[Iterable[str] | None, bool], dict[str, Any]] = field(repr=False, default=None)

    def key(self) -> str:
        """Changes whenever what the preset builds changes."""
        blob = json.dumps({"settings": self.settings, "components": self.components}, sort_keys=True, default=str)
        return f"{self.name}:{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


# ------------------------------------------------------------------------------------------------- tiny

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "vae": dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(16, 32, 32, 32), latent_channels=4,
                norm_num_groups=8, layers_per_block=1, sample_size=64),
    "unet": dict(sample_size=16, in_channels=8, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                 down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                 up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
                 norm_num_groups=8),
    "scheduler": dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                      clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction",
                      timestep_spacing="trailing"),
    "depth_estimator": dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=4,
                            backbone_out_indices=[0, 1, 2, 3], num_attention_heads=4, intermediate_size=37,
                            is_hybrid=False, reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[16, 16, 32, 32],
                            fusion_hidden_size=16, head_in_index=-1,
                            # transformers' default (0.02) shrinks activations to ~1e-8 over the
                            # tiny DPT, and random depth would come out flat; this keeps it varying.
                            initializer_range=0.12),
    "image_encoder": dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                          image_size=32, patch_size=8, projection_dim=32),
    "text_encoder": dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=32, projection_dim=32),
    "prior": dict(num_attention_heads=2, attention_head_dim=16, num_layers=2, embedding_dim=32, num_embeddings=32,
                  additional_embeddings=4),
    "prior_scheduler": dict(variance_type="fixed_small_log", clip_sample=True, clip_sample_range=5.0,
                            prediction_type="sample", num_train_timesteps=1000),
    "tokenizer": dict(model_max_length=32),
}

TINY_SETTINGS: dict[str, Any] = {
    "default_steps": 4,
    "default_resolution": 64,
    "resolution_multiple": 16,  # the autoencoder's 8 × the UNet's 2
    "window_length": 8,
    "depth_size": 32,
    "clip_size": 32,
    "prior_steps": 2,
    "random_weights": ["all"],
}


def tiny_tokenizer(model_max_length: int = 32):
    """A character-level CLIP tokenizer built in memory: CLIP's byte alphabet, no merges."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": len(alphabet) + i for i, c in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = model_max_length
    return tokenizer


def _build_seeded(builders: dict[str, Any], names: Iterable[str], namespace: str = "") -> dict[str, Any]:
    """Build each named component with its own seed (a hash of its name), so a component's random
    weights do not depend on which others were built, and the caller's RNG state is left alone."""
    import torch

    components = {}
    for name in names:
        digest = hashlib.sha256(f"{TINY_SEED}:{namespace}{name}".encode()).digest()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int.from_bytes(digest[:8], "big"))
            module = builders[name]()
        if hasattr(module, "eval"):
            module.eval()
        components[name] = module
    return components


def build_tiny(names: Iterable[str] | None = None, random_init: bool = True) -> dict[str, Any]:
    """Tiny components with seeded random weights; each component's weights depend only on its name."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, PriorTransformer, UnCLIPScheduler
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.unet import Gen1UNet

    c = TINY_CONFIGS
    names = list(names or COMPONENTS)
    tokenizer = tiny_tokenizer(c["tokenizer"]["model_max_length"])
    vocab = tokenizer.get_vocab()

    def unet() -> Gen1UNet:
        model = Gen1UNet(dict(c["unet"]), structure_channels=4, temporal_head_dim=8, max_frames=32)
        # A random model should mix frames too: give the zero-initialised temporal outputs weights.
        for p in model.temporal_parameters():
            if p.ndim > 1 and not p.abs().any():
                torch.nn.init.normal_(p, std=0.05)
        return model

    builders: dict[str, Callable[[], Any]] = {
        "vae": lambda: AutoencoderKL(**c["vae"]),
        "unet": unet,
        "scheduler": lambda: DDIMScheduler(**c["scheduler"]),
        "depth_estimator": lambda: DPTForDepthEstimation(DPTConfig(**c["depth_estimator"])),
        "image_encoder": lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**c["image_encoder"])),
        "text_encoder": lambda: CLIPTextModelWithProjection(CLIPTextConfig(
            vocab_size=len(vocab), bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"], **c["text_encoder"])),
        "tokenizer": lambda: tokenizer,
        "prior": lambda: PriorTransformer(**c["prior"]),
        "prior_scheduler": lambda: UnCLIPScheduler(**c["prior_scheduler"]),
    }
    return _build_seeded(builders, names)


# --------------------------------------------------------------------------------------------- gen1-sd15

SD15 = "stable-diffusion-v1-5/stable-diffusion-v1-5"
CLIP_L = "openai/clip-vit-large-patch14"
KARLO = "kakaobrain/karlo-v1-alpha"
DPT_LARGE = "Intel/dpt-large"

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
            out[name] = (tiny_tokenizer(77) if random_init
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


# --------------------------------------------------------------------------------------- AnimateDiff

MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-3"
DEPTH_CONTROLNET = "lllyasviel/control_v11f1p_sd15_depth"
IP_ADAPTER = "h94/IP-Adapter"
DPT_HYBRID = "Intel/dpt-hybrid-midas"  # the MiDaS model the depth ControlNet was trained on

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
    import torch
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
    from gen1_batch.model.settings import PIPELINES

    c = TINY_CONFIGS
    names = list(names or PIPELINES["MotionDepthPipeline"]["components"])
    tokenizer = tiny_tokenizer(c["tokenizer"]["model_max_length"])
    vocab = tokenizer.get_vocab()

    def image_unet() -> UNet2DConditionModel:
        return UNet2DConditionModel(**{**c["unet"], "in_channels": 4})

    def unet() -> UNetMotionModel:
        adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1,
                                motion_mid_block_layers_per_block=1, motion_num_attention_heads=2,
                                motion_norm_num_groups=8, motion_max_seq_length=32)
        model = UNetMotionModel.from_unet2d(image_unet(), adapter)
        # AnimateDiff starts its motion modules at zero output; a random model should mix frames.
        for name, p in model.named_parameters():
            if "motion_modules" in name and p.ndim > 1 and not p.abs().any():
                torch.nn.init.normal_(p, std=0.05)
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
        "text_encoder": lambda: CLIPTextModel(CLIPTextConfig(
            vocab_size=len(vocab), bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"], **c["text_encoder"])),
        "tokenizer": lambda: tokenizer,
        "ip_adapter": ip_adapter,
    }
    return _build_seeded(builders, names, namespace="animatediff:")


def build_animatediff_depth(names: Iterable[str] | None = None, random_init: bool = False) -> dict[str, Any]:
    """Real edits on public weights: SD 1.5 + the AnimateDiff v1.5.3 motion adapter + the depth
    ControlNet v1.1 + IP-Adapter (SD 1.5, CLIP ViT-H image encoder) + DPT-Hybrid (MiDaS) for depth.
    Downloads from the Hugging Face hub (or uses its cache)."""
    from diffusers import AutoencoderKL, ControlNetModel, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from huggingface_hub import hf_hub_download
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection, DPTForDepthEstimation

    from gen1_batch.model.pipeline_motion import IPAdapterWeights
    from gen1_batch.model.settings import PIPELINES

    if random_init:
        raise ValueError("animatediff-depth is only built from its public weights")
    names = list(names or PIPELINES["MotionDepthPipeline"]["components"])
    loaders: dict[str, Callable[[], Any]] = {
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


def _ip_adapter_state(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """h94's safetensors keys ("image_proj.proj.weight", "ip_adapter.1.to_k_ip.weight") as diffusers' two dicts."""
    state: dict[str, dict[str, Any]] = {"image_proj": {}, "ip_adapter": {}}
    for key, value in flat.items():
        part, _, rest = key.partition(".")
        state[part][rest] = value
    return state


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        description="Seeded random weights at toy size: for tests and trying the pipeline; edits are noise.",
        settings=TINY_SETTINGS,
        components={"all": "built in-process from small configs (tokenizer too), seeded random weights"},
        build=build_tiny,
    ),
    "gen1-sd15": Preset(
        name="gen1-sd15",
        description="The paper's architecture at full size on public weights (SD 1.5 spatial layers, CLIP "
                    "ViT-L/14, Karlo prior, DPT-Large). Temporal layers untrained until trained.",
        settings=GEN1_SD15_SETTINGS,
        components={"vae": f"{SD15} (vae)", "unet": f"{SD15} (unet) + untrained temporal layers",
                    "scheduler": "DDIM, ε-prediction", "depth_estimator": DPT_LARGE, "image_encoder": CLIP_L,
                    "text_encoder": f"{KARLO} (text_encoder)", "tokenizer": f"{KARLO} (tokenizer)",
                    "prior": f"{KARLO} (prior)", "prior_scheduler": "unCLIP"},
        licences=("CreativeML OpenRAIL-M (Stable Diffusion 1.5)", "MIT (CLIP)", "CreativeML OpenRAIL-M (Karlo)",
                  "Apache-2.0 (DPT-Large)"),
        build=build_gen1_sd15,
    ),
    "animatediff-depth": Preset(
        name="animatediff-depth",
        description="Real edits today on public weights: SD 1.5 + AnimateDiff motion modules (temporal) + "
                    "depth ControlNet (structure) + IP-Adapter (content) + DPT-Hybrid, under the Gen-1 controls.",
        settings=MOTION_SETTINGS,
        components={"vae": f"{SD15} (vae)", "unet": f"{SD15} (unet) + {MOTION_ADAPTER}",
                    "controlnet": DEPTH_CONTROLNET, "scheduler": "DDIM, ε-prediction",
                    "depth_estimator": DPT_HYBRID, "image_encoder": f"{IP_ADAPTER} (models/image_encoder)",
                    "text_encoder": f"{SD15} (text_encoder)", "tokenizer": f"{SD15} (tokenizer)",
                    "ip_adapter": f"{IP_ADAPTER} (models/ip-adapter_sd15.safetensors)"},
        licences=("CreativeML OpenRAIL-M (Stable Diffusion 1.5)", "Apache-2.0 (AnimateDiff)",
                  "OpenRAIL (ControlNet v1.1)", "Apache-2.0 (IP-Adapter)", "MIT (CLIP ViT-H, LAION)",
                  "Apache-2.0 (DPT-Hybrid)"),
        pipeline="MotionDepthPipeline",
        build=build_animatediff_depth,
    ),
    "tiny-animatediff": Preset(
        name="tiny-animatediff",
        description="The AnimateDiff + ControlNet + IP-Adapter backend at toy size, seeded random weights: tests.",
        settings=TINY_MOTION_SETTINGS,
        components={"all": "built in-process from small configs of the same diffusers classes, seeded random"},
        pipeline="MotionDepthPipeline",
        build=build_tiny_animatediff,
    ),
}


# The hub repositories each downloaded preset needs, with a file whose presence in the cache shows it is there.
PRESET_REPOS: dict[str, dict[str, str]] = {
    "gen1-sd15": {SD15: "model_index.json", CLIP_L: "config.json", KARLO: "model_index.json",
                  DPT_LARGE: "config.json"},
    "animatediff-depth": {SD15: "model_index.json", MOTION_ADAPTER: "config.json", DEPTH_CONTROLNET: "config.json",
                          IP_ADAPTER: "models/image_encoder/config.json", DPT_HYBRID: "config.json"},
}


def preset_weights_present(preset: Preset) -> str:
    """Where a preset's weights are: built in-process, in the hub cache, or still to download."""
    if preset.name not in PRESET_REPOS:
        return "built in-process (random)"
    from huggingface_hub import try_to_load_from_cache

    missing = [repo for repo, probe in PRESET_REPOS[preset.name].items()
               if not isinstance(try_to_load_from_cache(repo, probe), str)]
    return "in the hub cache" if not missing else f"not downloaded: {', '.join(missing)}"


class HubUnreachable(ConnectionError):
    """The Hugging Face hub cannot be reached; the message names its URL and the repositories wanted."""


def check_hub(repos: Iterable[str]) -> None:
    """One request to the hub, without retries, so that a download with no route to it fails at once
    (the hub client retries each file for half a minute) and says so, instead of as a missing file."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    from gen1_batch.errors import describe

    if constants.HF_HUB_OFFLINE:  # the cache alone is asked for
        return
    repos = list(repos)
    url = f"{constants.ENDPOINT}/api/models/{repos[0]}"
    try:
        get_session().head(url, timeout=15)
    except Exception as e:  # any answer, even 401 or 404, means the hub is reachable
        raise HubUnreachable(f"cannot reach the Hugging Face hub ({describe(e, url)}) for {', '.join(repos)}: "
                             "check the network, a proxy (HTTPS_PROXY) or HF_ENDPOINT") from None


def save_preset(preset: Preset, target: str) -> None:
    """Build (downloading where needed) every component of a preset and write one model folder.

    The folder appears only when complete: it is written beside the target as TARGET.partial and
    renamed (on a bucket, model_index.json, which makes a folder a model, is uploaded last), and a
    failed attempt removes its partial folder. Downloads go through the hub cache, so the next
    attempt resumes from what was fetched.
    """
    import os
    import shutil
    import tempfile

    from gen1_batch import storage
    from gen1_batch.model.loading import MODEL_INDEX, pipeline_class

    remote = storage.is_url(target) and not target.startswith("file://")
    if not remote:
        target = os.path.abspath(target.removeprefix("file://"))
    if storage.exists(storage.join(target, MODEL_INDEX) if remote else target):  # before any download
        raise FileExistsError(f"{target} exists; remove it first or choose another folder")
    if preset.name in PRESET_REPOS:
        check_hub(PRESET_REPOS[preset.name])
    components = preset.build(None, False)
    pipe = pipeline_class(preset.pipeline)(**components, settings={**DEFAULT_SETTINGS, **preset.settings})
    if remote:
        with tempfile.TemporaryDirectory(prefix="gen1-model-") as tmp:
            folder, index = os.path.join(tmp, "model"), os.path.join(tmp, MODEL_INDEX)
            pipe.save_pretrained(folder)
            os.replace(os.path.join(folder, MODEL_INDEX), index)
            fs, path = storage.filesystem(target)
            with storage.explained(target):
                fs.put(folder + "/", path, recursive=True)
            storage.put_file_atomic(index, storage.join(target, MODEL_INDEX))  # last: the folder is now a model
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # an earlier attempt's, if it was killed
    try:
        pipe.save_pretrained(partial)
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
