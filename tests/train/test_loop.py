"""What a worker trains with: the base model's components as the recipe asks for them."""

import json
import os

import pytest
import torch

from gen1_batch.model.loading import describe_model, load_components
from gen1_batch.train.export import export_model
from gen1_batch.train.loop import STATE_FILE, WorkerConfig, base_components, build_trainable, trainable_state
from gen1_batch.train.preprocess import SamplePlan
from gen1_batch.train.recipe import RecipeError, load_recipe


def config(model: str, **changes) -> WorkerConfig:
    recipe = load_recipe("tiny").replace(**changes)
    return WorkerConfig(plan=SamplePlan(recipe, (), (), 1, 1000), model=describe_model(model), output="")


def test_a_zero_terminal_snr_recipe_trains_on_a_schedule_whose_last_timestep_is_pure_noise_and_exports_it(tmp_path):
    as_is = base_components(config("tiny"), ["scheduler"])["scheduler"].alphas_cumprod
    assert as_is[-1] > 0.004  # Stable Diffusion's schedule: 7% of the image left at the last timestep
    conf = config("tiny", zero_terminal_snr=True)
    rescaled = base_components(conf, ["scheduler"])["scheduler"].alphas_cumprod
    assert rescaled[-1] < 1e-6 and torch.all(rescaled[1:] < rescaled[:-1])
    torch.save({"trainable": trainable_state(build_trainable(conf)), "ema": []}, tmp_path / STATE_FILE)
    exported = export_model(conf, str(tmp_path), str(tmp_path / "model"), {})
    scheduler = load_components(exported, ["scheduler"])["scheduler"]
    torch.testing.assert_close(scheduler.alphas_cumprod, rescaled)  # the edit samples on the schedule trained


def test_zero_terminal_snr_is_refused_for_a_model_that_does_not_predict_v(tmp_path):
    conf = config("tiny")
    torch.save({"trainable": trainable_state(build_trainable(conf)), "ema": []}, tmp_path / STATE_FILE)
    folder = export_model(conf, str(tmp_path), str(tmp_path / "model"), {})
    path = os.path.join(folder, "scheduler", "scheduler_config.json")
    with open(path) as f:
        scheduler = json.load(f)
    with open(path, "w") as f:
        json.dump({**scheduler, "prediction_type": "epsilon"}, f)
    with pytest.raises(RecipeError, match=r"zero_terminal_snr needs a v-prediction model; .* predicts epsilon"):
        base_components(config(folder, zero_terminal_snr=True), ["scheduler"])
