"""The registry: a preset's key, and the components it builds, behave as the registry promises."""

import dataclasses

import pytest

from gen1_batch.model.presets.registry import PRESETS
from gen1_batch.model.settings import PIPELINES

IN_PROCESS = [name for name, preset in PRESETS.items() if preset.built_in_process]  # no download


def test_a_presets_key_changes_exactly_when_what_it_builds_changes():
    preset = PRESETS["tiny"]
    assert dataclasses.replace(preset, settings=dict(preset.settings)).key() == preset.key()
    changed_settings = dataclasses.replace(preset, settings={**preset.settings, "window_length": 9})
    changed_weights = dataclasses.replace(preset, components={"all": "other weights"})
    assert len({preset.key(), changed_settings.key(), changed_weights.key()}) == 3


@pytest.mark.parametrize("name", IN_PROCESS)
def test_a_preset_builds_exactly_the_components_its_pipeline_declares(name):
    preset = PRESETS[name]
    declared = PIPELINES[preset.pipeline]["components"]
    assert set(preset.build(None, True)) == set(declared)
    for part in preset.settings["random_weights"]:  # what reports flag as untrained is something it builds
        assert part == "all" or part.split(".")[0] in declared
