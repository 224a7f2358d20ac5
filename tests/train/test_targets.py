"""Each model of the stack learns with its own target: a few AdamW steps on one fixed batch of toy
frames lower the loss clearly (in-process, no Ray), and a target's module trains exactly its
components."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from gen1_batch.model.loading import load_components, pipeline_class
from gen1_batch.model.metrics import relative_depth
from gen1_batch.model.presets.toy import TOY_SETTINGS
from gen1_batch.model.settings import DEFAULT_SETTINGS
from gen1_batch.toy.render import render
from gen1_batch.toy.world import random_scene, seeds
from gen1_batch.train.objective import draw
from gen1_batch.train.targets import TARGETS, StepContext


@dataclass
class Row:
    caption: str


class Plan:
    def __init__(self, captions):
        self.rows = [Row(c) for c in captions]

    def row_of(self, d):
        return self.rows[d.row]


@pytest.fixture(scope="module")
def scenes():
    chosen = [random_scene(s) for s in seeds(4, held_out=False)]
    return chosen, [render(s, 2, 64, 64) for s in chosen]


def fixed_batch(target, pipe, scenes):
    chosen, renders = scenes
    samples = []
    for i, r in enumerate(renders):
        d = draw(0, 0, 0, i, kind="video", rows=len(renders), frames=2, flip=False, structure="none",
                 content_dropout=0.0, train_timesteps=1000)
        d = type(d)(**{**d.__dict__, "row": i, "timestep": 300 + 100 * i})
        samples.append((d, target.sample(pipe, r.frames, relative_depth(r.depth), d)))
    return samples, Plan([s.caption for s in chosen])


def fit(target, module, samples, ctx, steps=15):
    """The target's losses over `steps` AdamW steps on one fixed batch."""
    optimizer = torch.optim.AdamW(ctx.params, lr=2e-3, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        loss = target.loss(module, samples, ctx)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", ["vae", "depth_estimator", "clip", "prior"])
def test_each_model_of_the_stack_learns_a_fixed_batch(name, scenes):
    torch.manual_seed(0)
    target = TARGETS[name]()
    settings = {**DEFAULT_SETTINGS, **TOY_SETTINGS}
    names = {*target.trains, *target.sample_components, *target.loop_components}
    components = load_components("toy-init", sorted(names))
    pipe = pipeline_class("Gen1Pipeline")(**{k: v for k, v in components.items() if k not in target.trains},
                                          settings=settings)
    if name == "prior":
        pipe.register_modules(image_encoder=components["image_encoder"])
    module = target.build({k: components[k] for k in target.trains})
    module.train()
    trained = {id(p) for part in target.parts(module).values() for p in part.parameters()}
    assert trained <= {id(p) for p in module.parameters()}  # the module holds exactly what it hands back
    assert set(target.parts(module)) == set(target.trains)
    samples, plan = fixed_batch(target, pipe, scenes)
    params = [p for p in module.parameters() if p.requires_grad]
    ctx = StepContext(pipe=pipe, plan=plan, device=torch.device("cpu"), on_gpu=False, params=params)
    losses = fit(target, module, samples, ctx)
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.75 * losses[0], losses


def test_an_image_step_of_a_temporal_only_recipe_still_steps(tiny):
    from gen1_batch.train.params import select_trainable
    from gen1_batch.train.targets import UNetTarget

    unet = tiny.unet
    params = select_trainable(unet, ["temporal"])
    target = UNetTarget("none")
    frames = np.zeros((1, 48, 64, 3), np.uint8)
    d = draw(0, 0, 0, 0, kind="image", rows=1, frames=1, flip=False, structure="none", content_dropout=0.0,
             train_timesteps=1000)
    samples = [(d, target.sample(tiny, frames, None, d))]
    ctx = StepContext(pipe=tiny, plan=None, device=torch.device("cpu"), on_gpu=False, params=params)
    try:
        loss = target.loss(unet, samples, ctx)
        loss.backward()  # raised "element 0 of tensors does not require grad" before
        assert all(p.grad is not None and not p.grad.any() for p in params)
    finally:
        for p in unet.parameters():
            p.requires_grad_(False)
            p.grad = None


def test_a_recipe_weighing_masks_counts_the_unets_error_inside_them_more(tiny):
    from gen1_batch.train.recipe import DataSpec, Recipe
    from gen1_batch.train.targets import UNetTarget

    target = UNetTarget(0)
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 64, 3), dtype=np.uint8)
    d = draw(0, 0, 0, 0, kind="video", rows=1, frames=4, flip=False, structure=0, content_dropout=0.0,
             train_timesteps=1000)
    sample = target.sample(tiny, frames, None, d)
    weighed = Plan([""])
    weighed.recipe = Recipe("r", "d", "tiny", ("all",), 1, data=DataSpec(mask_weight=5.0))

    def loss(plan, mask=None):
        ctx = StepContext(pipe=tiny, plan=plan, device=torch.device("cpu"), on_gpu=False, params=[])
        with torch.no_grad():
            return target.loss(tiny.unet, [(d, sample if mask is None else {**sample, "mask": mask})], ctx).item()

    left = np.zeros((4, 48, 64), np.float16)
    left[:, :, :32] = 1
    plain = loss(None)
    assert loss(weighed) == pytest.approx(plain)  # a sample without a mask: every latent counts once
    assert loss(weighed, np.ones_like(left)) == pytest.approx(plain)  # the same weight everywhere: the same loss
    assert loss(weighed, left) != pytest.approx(plain, rel=1e-4)
    assert loss(None, left) == plain  # a recipe that does not weigh masks ignores them


def test_a_recipe_with_snr_gamma_counts_each_samples_unet_loss_by_its_min_snr_weight(tiny):
    from gen1_batch.train.objective import min_snr_weights
    from gen1_batch.train.recipe import Recipe
    from gen1_batch.train.targets import UNetTarget

    target = UNetTarget(0)
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 64, 3), dtype=np.uint8)
    d = draw(0, 0, 0, 0, kind="video", rows=1, frames=4, flip=False, structure=0, content_dropout=0.0,
             train_timesteps=1000)
    d = type(d)(**{**d.__dict__, "timestep": 20})  # near clean: min-SNR counts it far less
    sample = target.sample(tiny, frames, None, d)

    def loss(gamma):
        plan = Plan([""])
        plan.recipe = Recipe("r", "d", "tiny", ("all",), 1, snr_gamma=gamma)
        ctx = StepContext(pipe=tiny, plan=plan, device=torch.device("cpu"), on_gpu=False, params=[])
        with torch.no_grad():
            return target.loss(tiny.unet, [(d, sample)], ctx).item()

    weight = min_snr_weights(torch.tensor([20]), tiny.scheduler.alphas_cumprod, 5.0,
                             tiny.scheduler.config.prediction_type).item()
    assert weight < 0.5
    assert loss(5.0) == pytest.approx(loss(0.0) * weight, rel=1e-5)


@pytest.mark.parametrize("name", ["unet", "clip", "prior", "vae"])
def test_a_sample_depends_only_on_its_pixels_and_the_choices_its_target_declares(name, tiny):
    """The preprocessing actors cache samples by (pixels, target.sample_choices): a draw that differs in
    anything else must give the same sample, or the cache would train on the wrong one."""
    from dataclasses import replace

    target = TARGETS[name]() if name != "unet" else TARGETS[name](0)
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 64, 3), dtype=np.uint8)
    d = draw(0, 0, 0, 0, kind="video", rows=1, frames=4, flip=False, structure=0, content_dropout=0.0,
             train_timesteps=1000)
    for field, value in [("content_frame", (d.content_frame + 1) % 4), ("timestep", d.timestep + 1),
                         ("noise_seed", d.noise_seed + 1), ("drop_content", True),
                         ("structure_level", 5), ("structure_level", None)]:
        other = replace(d, **{field: value})
        a, b = target.sample(tiny, frames, None, d), target.sample(tiny, frames, None, other)
        same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        assert same == (target.sample_choices(d) == target.sample_choices(other)), field


def test_a_decoder_recipe_trains_the_decoder_alone_so_the_latents_the_unet_learned_stay_the_same(scenes):
    from gen1_batch.model.base import from_uint8
    from gen1_batch.train.params import select_trainable
    from gen1_batch.train.targets import AutoencoderTarget

    torch.manual_seed(0)
    target = AutoencoderTarget(("decoder",))
    assert not target.reads_depth_truth  # structure is encoded, never decoded: the decoder learns frames
    vae = load_components("toy-init", ["vae"])["vae"]
    module = target.build({"vae": vae})
    params = select_trainable(module, ["decoder"], target.groups)
    assert params and all(n.startswith(("vae.decoder.", "vae.post_quant_conv.")) for n, p in
                          module.named_parameters() if p.requires_grad)
    frames = from_uint8(torch.from_numpy(np.concatenate([r.frames for r in scenes[1]])))
    with torch.no_grad():
        latents = vae.encode(frames).latent_dist.mode()
    scale = vae.config.scaling_factor
    samples, plan = fixed_batch(target, None, scenes)
    ctx = StepContext(pipe=None, plan=plan, device=torch.device("cpu"), on_gpu=False, params=params)
    losses = fit(target, module, samples, ctx)
    assert losses[-1] < 0.75 * losses[0], losses
    target.finish(target.parts(module), plan=None)
    with torch.no_grad():
        assert torch.equal(vae.encode(frames).latent_dist.mode(), latents)
    assert vae.config.scaling_factor == scale
