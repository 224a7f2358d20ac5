import pytest

from gen1_batch.model.presets import build_tiny
from gen1_batch.train.params import GROUPS, group_parameter_names, select_trainable, still_random
from gen1_batch.train.recipe import RecipeError, load_recipe, parse_recipe, recipe_files
from gen1_batch.train.targets import target_of


@pytest.fixture(scope="module")
def tiny():
    return build_tiny()


@pytest.fixture(scope="module")
def unet(tiny):
    return tiny["unet"]


@pytest.mark.parametrize("name", list(recipe_files()))
def test_each_recipe_trains_exactly_the_parameters_it_names(tiny, name):
    recipe = load_recipe(name)
    target = target_of(recipe)
    module = target.build({k: tiny[k] for k in target.trains})
    trainable = select_trainable(module, recipe.trains, target.groups)
    named = set(group_parameter_names(module, recipe.trains, target.groups))
    assert {n for n, p in module.named_parameters() if p.requires_grad} == named
    assert len(trainable) == len(named) > 0


def test_groups_hold_what_their_names_say(unet):
    names = [n for n, _ in unet.named_parameters()]
    temporal = group_parameter_names(unet, ["temporal"])
    assert temporal and all(n.startswith("temporal_") for n in temporal)
    kv = group_parameter_names(unet, ["cross_attention_kv"])
    assert kv and set(kv) < set(group_parameter_names(unet, ["cross_attention"]))
    assert group_parameter_names(unet, ["structure_input"]) == ["spatial.conv_in.weight", "spatial.conv_in.bias"]
    assert group_parameter_names(unet, ["all"]) == names
    assert set(GROUPS) >= {"all", "temporal", "cross_attention_kv", "structure_input"}


def test_random_weights_after_training_name_exactly_what_is_still_untrained():
    components = ("vae", "unet", "scheduler", "depth_estimator", "image_encoder", "text_encoder", "tokenizer",
                  "prior", "prior_scheduler")
    assert still_random(["all"], components, ("all",)) == ["vae", "depth_estimator", "image_encoder",
                                                          "text_encoder", "prior"]
    assert still_random(["unet.temporal", "unet.structure_input"], components, ("temporal",)) == [
        "unet.structure_input"]
    assert still_random(["unet.temporal", "unet.structure_input"], components, ("all",)) == []
    assert still_random(["all"], components, ("temporal",))[1] == "unet except temporal"


MINIMAL = {"name": "x", "description": "d", "base_model": "tiny", "trains": ["all"], "steps": 3}


@pytest.mark.parametrize("changes, message", [
    ({"stpes": 3}, "unknown key 'stpes'"),
    ({"trains": ["wings"]}, "trains names wings"),
    ({"target": "wings"}, "'wings' is not one this engine trains"),
    ({"data": {"mask_weight": 0}}, r"data\.mask_weight must be above 0"),
    ({"target": "clip", "data": {"mask_weight": 2}}, "a clip recipe keeps 1"),
    ({"snr_gamma": -1}, "snr_gamma must be 0 \\(off\\) or more, got -1"),
    ({"target": "vae", "snr_gamma": 5}, "snr_gamma weighs the UNet's loss; a vae recipe keeps 0"),
    ({"timestep_sampling": "cosine"}, "timestep_sampling must be 'uniform' or 'logit_normal', got 'cosine'"),
    ({"target": "clip", "timestep_sampling": "logit_normal"}, "a clip recipe has none"),
    ({"logit_std": 0}, "logit_std must be above 0, got 0"),
    ({"target": "vae", "zero_terminal_snr": True}, "the UNet's noise schedule; a vae recipe keeps false"),
    ({"decay_steps": -1}, "decay_steps must be 0 or more"),
    ({"trains": ["temporal"], "target": "vae"}, "trains names temporal; the groups of a vae recipe are all, decoder"),
    ({"image_batch_size": -2}, "image_batch_size must be 0 \\(batch_size\\) or more, got -2"),
    ({"target": "prior", "lora_rank": 4}, "a prior recipe trains no LoRA adapters"),
])
def test_a_recipe_with_an_unknown_key_or_group_or_a_bad_value_is_refused_naming_it(changes, message):
    with pytest.raises(RecipeError, match=message):
        parse_recipe({**MINIMAL, **changes})


def test_the_gen1_sd15_recipes_are_the_papers_four_stages_with_its_scale():
    stages = [load_recipe(n) for n in recipe_files() if n.startswith("gen1-sd15-")]
    assert [r.steps for r in stages] == [15000, 75000, 25000, 10000]
    assert [r.data.structure for r in stages] == ["none", "none", 0, "uniform"]
    assert stages[0].data.image_probability == 1.0 and stages[1].data.image_probability == 0.125
    assert all((r.data.width, r.data.height, r.data.frames, r.data.frame_stride) == (448, 256, 8, 4) for r in stages)
