"""The registry of named models: what each preset is, builds and needs, by name (`--model NAME`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gen1_batch.model.presets.animatediff import (
    ANIMATEDIFF_HUB_FILES,
    DEPTH_CONTROLNET,
    DPT_HYBRID,
    IP_ADAPTER,
    MOTION_ADAPTER,
    MOTION_SETTINGS,
    TINY_MOTION_SETTINGS,
    build_animatediff_depth,
    build_tiny_animatediff,
)
from gen1_batch.model.presets.gen1_sd15 import (
    CLIP_L,
    DPT_LARGE,
    GEN1_SD15_HUB_FILES,
    GEN1_SD15_SETTINGS,
    KARLO,
    SD15,
    build_gen1_sd15,
)
from gen1_batch.model.presets.tiny import TINY_SETTINGS, build_tiny
from gen1_batch.model.presets.toy import TOY_SETTINGS, TOY_WEIGHTS, build_toy, load_toy


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
    # The hub repositories it downloads, each with a file whose presence in the cache shows it is
    # there; empty for a preset built in-process.
    hub_files: dict[str, str] = field(default_factory=dict)
    # A model folder shipped in the package: the preset loads it (trained weights, nothing to build).
    folder: str | None = None

    @property
    def built_in_process(self) -> bool:
        """Built here from configs (or shipped with the package), with nothing to download."""
        return not self.hub_files

    def key(self) -> str:
        """Changes whenever what the preset builds changes."""
        blob = json.dumps({"settings": self.settings, "components": self.components}, sort_keys=True, default=str)
        return f"{self.name}:{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


PRESETS: dict[str, Preset] = {
    "toy": Preset(
        name="toy",
        description="The whole Gen-1 stack trained on the toy world (python -m gen1_batch.toy.stack): edits of "
                    "toy scenes at 64×64; shipped in the package; the default.",
        settings={**TOY_SETTINGS, "random_weights": []},
        components={"all": f"trained on the toy world, shipped in {TOY_WEIGHTS.relative_to(TOY_WEIGHTS.parents[2])}"},
        build=load_toy,
        folder=str(TOY_WEIGHTS),
    ),
    "toy-init": Preset(
        name="toy-init",
        description="The toy stack's architecture with seeded random weights: what the toy recipes train from.",
        settings=TOY_SETTINGS,
        components={"all": "built in-process from the toy configs, seeded random weights"},
        build=build_toy,
    ),
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
        hub_files=GEN1_SD15_HUB_FILES,
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
        hub_files=ANIMATEDIFF_HUB_FILES,
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
