"""Model settings, component names and pipeline classes: plain data, importable without torch."""

from __future__ import annotations

import importlib
import os
from typing import Any

# The model `gen1 run`, `gen1 edit`, `gen1 submit` and `gen1_batch.edit` use unless told, or what
# GEN1_MODEL names (a studio's own model folder): the shipped toy stack (tests set `tiny`, faster).
DEFAULT_MODEL = os.environ.get("GEN1_MODEL") or "toy"

# A model folder's index (diffusers' name): its pipeline class, components and settings.
MODEL_INDEX = "model_index.json"

# How overlapping windows' predictions are weighted along the window (see windows.blend_weights).
BLENDS = ("pyramid", "flat", "gaussian")

# Settings stored in MODEL_INDEX beside the components; every one has a default here.
DEFAULT_SETTINGS: dict[str, Any] = {
    "default_steps": 25,
    "default_resolution": 512,  # working size is about this many pixels squared
    "resolution_multiple": 8,
    "window_length": 8,  # the clip length the model was trained on; windows overlap by half by default
    "max_window": 32,  # frame positions of the temporal attention
    "max_batch": 8,  # clips (window × guidance pass) per UNet call
    "vae_batch": 8,  # frames per autoencoder call
    "vae_tile_above": 1024,  # pixels: a larger canvas goes through the autoencoder in tiles (bounded memory)
    "depth_batch": 16,  # frames per depth-estimator call
    "depth_size": 384,
    "depth_mean": [0.5, 0.5, 0.5],
    "depth_std": [0.5, 0.5, 0.5],
    "clip_size": 224,
    "clip_mean": [0.48145466, 0.4578275, 0.40821073],
    "clip_std": [0.26862954, 0.26130258, 0.27577711],
    "prior_steps": 25,
    "prior_guidance_scale": 4.0,
    "controlnet_scale": 1.0,  # MotionDepthPipeline: weight of the depth ControlNet's residuals
    "ip_adapter_scale": 0.7,  # MotionDepthPipeline: weight of the reference image, when there is one
    "random_weights": [],  # components (or parts, "unet.temporal") whose weights are untrained
}

# Each pipeline's components, and which of them each batch stage loads (`edit` loads them all).
PIPELINES: dict[str, dict[str, Any]] = {
    "Gen1Pipeline": {
        "module": "gen1_batch.model.pipeline_gen1",
        "components": ("vae", "unet", "scheduler", "depth_estimator", "image_encoder", "text_encoder", "tokenizer",
                       "prior", "prior_scheduler"),
        "stages": {
            "depth": ("depth_estimator",),
            "content": ("image_encoder", "text_encoder", "tokenizer", "prior", "prior_scheduler"),
            "diffusion": ("vae", "unet", "scheduler"),
            "metrics": ("depth_estimator", "image_encoder", "text_encoder", "tokenizer"),
        },
    },
    "MotionDepthPipeline": {
        "module": "gen1_batch.model.pipeline_motion",
        "components": ("vae", "unet", "controlnet", "scheduler", "depth_estimator", "image_encoder",
                       "text_encoder", "tokenizer", "ip_adapter"),
        "stages": {
            "depth": ("depth_estimator",),
            "content": ("image_encoder", "text_encoder", "tokenizer"),
            "diffusion": ("vae", "unet", "controlnet", "scheduler", "ip_adapter"),
            "metrics": ("depth_estimator", "image_encoder"),
        },
    },
}
COMPONENTS = PIPELINES["Gen1Pipeline"]["components"]


def default_stride(length: int) -> int:
    """Windows overlap by half unless told otherwise."""
    return max(1, length // 2)


def pipeline_class(name: str) -> type:
    """The pipeline class PIPELINES names (imported on first use: it brings torch)."""
    return getattr(importlib.import_module(PIPELINES[name]["module"]), name)
