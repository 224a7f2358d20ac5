"""Named models (`--model NAME`): one module per backend, the registry, and the I/O of their weights.

* `toy`: the whole stack trained on the toy world, shipped (the default); `toy-init` its untrained twin;
* `tiny`: the Gen-1 architecture at toy size with seeded random weights (no download, seconds on CPU);
* `gen1_sd15`: the paper's architecture at full size on public weights;
* `animatediff`: the AnimateDiff + depth ControlNet + IP-Adapter backend, public weights or toy size;
* `registry`: `Preset` and `PRESETS`, every preset by name;
* `download`: whether a preset's weights are here, reaching the hub, writing a preset to a model folder.
"""

from gen1_batch.model.presets.download import HubUnreachable, check_hub, preset_weights_present, save_preset
from gen1_batch.model.presets.gen1_sd15 import build_gen1_sd15
from gen1_batch.model.presets.registry import PRESETS, Preset
from gen1_batch.model.presets.tiny import TINY_CONFIGS, build_tiny

__all__ = [
    "PRESETS",
    "TINY_CONFIGS",
    "HubUnreachable",
    "Preset",
    "build_gen1_sd15",
    "build_tiny",
    "check_hub",
    "preset_weights_present",
    "save_preset",
]
