"""The toy stack: every model of it, in an order where each is trained before what learns from it,
the UNet through the paper's four stages, each stage starting from the model the one before wrote."""

import os

import pytest

from gen1_batch.toy.stack import main, toy_recipes
from gen1_batch.train.recipe import load_recipe


def test_the_stack_trains_each_model_before_the_models_that_learn_from_it():
    recipes = [load_recipe(name) for name in toy_recipes()]
    targets = [r.target for r in recipes]
    assert targets == ["depth_estimator", "clip", "prior", "vae", "unet", "unet", "unet", "unet", "vae", "unet",
                       "unet"]
    assert recipes[0].base_model == "toy-init"


def test_stages_run_in_the_order_of_their_numbers_so_a_tenth_follows_the_ninth(monkeypatch):
    from gen1_batch.toy import stack

    names = ["tiny", "toy-10-more", "toy-1-depth", "toy-2-clip", "toy-9-decoder"]  # as the folder sorts them
    monkeypatch.setattr(stack, "recipe_files", lambda: dict.fromkeys(sorted(names)))
    assert toy_recipes() == ["toy-1-depth", "toy-2-clip", "toy-9-decoder", "toy-10-more"]


def test_after_the_autoencoder_only_its_decoder_trains_again_so_the_unets_latents_stay_the_same():
    recipes = [load_recipe(name) for name in toy_recipes()]
    first = [r.target for r in recipes].index("vae")
    again = [r for r in recipes[first + 1:] if r.target == "vae"]
    assert again and all(r.trains == ("decoder",) for r in again)


def test_the_stack_ends_on_a_unet_stage_whose_rate_decays_to_zero():
    last = load_recipe(toy_recipes()[-1])
    assert last.target == "unet" and last.decay_steps == last.steps


def test_the_unet_goes_through_the_papers_four_stages_and_then_continues_the_last():
    unet = [r for r in map(load_recipe, toy_recipes()) if r.target == "unet"]
    assert [r.trains for r in unet] == [("spatial",), ("temporal",)] + [("all",)] * 4
    assert [r.data.structure for r in unet] == ["none", "none", 0] + ["uniform"] * 3
    assert unet[0].data.image_probability == 1.0 and all(r.data.image_probability == 0.125 for r in unet[1:])
    assert all(r.data.content_dropout == 0.1 for r in unet)


def test_each_stage_starts_from_the_model_the_stage_before_wrote_on_the_gpus_given(tmp_path, monkeypatch):
    from gen1_batch.toy.stack import train_stack
    from gen1_batch.train import run

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("")  # a written dataset is kept, not rendered again
    seen = []

    def train(opts, say):  # records what each stage was asked to do, and writes its model folder
        seen.append(opts)
        os.makedirs(os.path.join(opts.output, run.MODEL_NAME))
        return {"steps": opts.steps, "step_seconds": 0.0, "first_loss": 1.0, "last_loss": 0.5}

    monkeypatch.setattr(run, "train", train)
    summary = train_stack(str(tmp_path), steps_scale=0.01, gpus_per_worker=0.5, say=lambda line: None)
    names = toy_recipes()
    assert [o.recipe for o in seen] == names
    assert [o.model for o in seen] == ["toy-init"] + [str(tmp_path / n / run.MODEL_NAME) for n in names[:-1]]
    assert all(o.gpus_per_worker == 0.5 for o in seen) and summary["gpus_per_worker"] == 0.5
    assert (tmp_path / "model").is_dir()


def test_a_negative_gpu_count_is_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["out", "--gpus-per-worker", "-1"])
    assert "--gpus-per-worker must be 0 or more, got -1.0" in capsys.readouterr().err
