"""The stage list, stated once: what each declared stage runs, and what derives from the list."""

import inspect

import pytest

from gen1_batch.config import default_resources
from gen1_batch.model.settings import PIPELINES
from gen1_batch.stages.spec import DATAFLOW, MODEL_STAGES, STAGES


@pytest.mark.parametrize("stage", DATAFLOW, ids=STAGES)
def test_each_stage_runs_a_batch_function_as_tasks_or_a_model_class_as_an_actor_pool(stage):
    target = stage.load()
    if stage.actors:  # loads once in __init__, edits batches in __call__
        assert inspect.isclass(target) and target.name == stage.name and callable(target)
    else:
        assert inspect.isfunction(target) and list(inspect.signature(target).parameters) == ["batch", "job"]


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_backend_says_which_components_each_model_stage_loads_and_only_those(pipeline):
    spec = PIPELINES[pipeline]
    assert tuple(spec["stages"]) == MODEL_STAGES
    assert all(set(names) <= set(spec["components"]) for names in spec["stages"].values())


@pytest.mark.parametrize("cpus, gpus", [(2, 0), (64, 8)])
def test_every_stage_has_default_resources_in_the_dataflow_order(cpus, gpus):
    assert tuple(default_resources(cpus, gpus)) == STAGES
