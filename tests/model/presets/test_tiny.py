"""The toy presets' seeded weights: each component's depends on its name alone."""

import pytest
import torch

from gen1_batch.model.presets.registry import PRESETS

IN_PROCESS = [name for name, preset in PRESETS.items() if preset.built_in_process]  # no download


@pytest.mark.parametrize("name", IN_PROCESS)
def test_each_components_seeded_weights_do_not_depend_on_which_others_were_built(name):
    build = PRESETS[name].build
    torch.manual_seed(123)  # nor on the caller's random state
    alone = build(["unet"], True)["unet"].state_dict()
    torch.manual_seed(456)
    beside = build(["vae", "text_encoder", "unet"], True)["unet"].state_dict()
    assert alone.keys() == beside.keys() and all(torch.equal(alone[k], beside[k]) for k in alone)
