"""The toy stack's recipes: every model of the stack, in an order where each is trained before what
learns from it, and the UNet through the paper's four stages."""

from gen1_batch.toy.stack import toy_recipes
from gen1_batch.train.recipe import load_recipe


def test_the_stack_trains_each_model_before_the_models_that_learn_from_it():
    recipes = [load_recipe(name) for name in toy_recipes()]
    targets = [r.target for r in recipes]
    assert targets == ["depth_estimator", "clip", "prior", "vae", "unet", "unet", "unet", "unet"]
    assert recipes[0].base_model == "toy-init"


def test_the_unet_goes_through_the_papers_four_stages():
    unet = [load_recipe(name) for name in toy_recipes()][4:]
    assert [r.trains for r in unet] == [("spatial",), ("temporal",), ("all",), ("all",)]
    assert [r.data.structure for r in unet] == ["none", "none", 0, "uniform"]
    assert unet[0].data.image_probability == 1.0 and all(r.data.image_probability == 0.125 for r in unet[1:])
    assert all(r.data.content_dropout == 0.1 for r in unet)
