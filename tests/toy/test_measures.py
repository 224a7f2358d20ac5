import numpy as np

from gen1_batch.model.metrics import relative_depth
from gen1_batch.toy.measures import (
    MaterialScore,
    flicker,
    material_share,
    static_pixels,
    structure_error,
)
from gen1_batch.toy.render import render
from gen1_batch.toy.world import random_materials, random_scene, seeds

SCENES = [random_scene(s) for s in seeds(12, held_out=True)]
RENDERS = [render(s, 4, 64, 64) for s in SCENES]


def test_the_renderers_own_frames_show_their_materials():
    scores = [material_share(r.frames, r.masks, s.materials) for s, r in zip(SCENES, RENDERS, strict=True)]
    assert np.mean([x.material for x in scores]) > 0.9
    assert np.mean([x.colour for x in scores]) > 0.97


def test_other_materials_score_about_chance_against_the_original():
    scores = []
    for scene in SCENES:
        other = scene.with_materials(random_materials(np.random.default_rng(scene.seed), len(scene.materials)))
        rendered = render(other, 4, 64, 64)
        scores.append(material_share(rendered.frames, rendered.masks, scene.materials).material)
    assert np.mean(scores) < 3 * MaterialScore.chance_material


def test_rendered_depth_against_its_exact_depth_has_no_structure_error_and_blur_has_some():
    rendered = RENDERS[0]
    assert structure_error(relative_depth(rendered.depth), rendered.depth) < 1e-6
    flat = np.full_like(rendered.depth, 0.5) + np.random.default_rng(0).normal(0, 0.01, rendered.depth.shape)
    assert structure_error(flat, rendered.depth) > 0.05


def test_a_static_scene_does_not_flicker_and_noise_does():
    scene = random_scene(5, camera_moves=False, objects_move=False)
    rendered = render(scene, 6, 48, 48)
    static = static_pixels(scene, rendered.masks)
    assert static.all()
    assert flicker(rendered.frames, static) == 0
    noisy = np.clip(rendered.frames + np.random.default_rng(0).normal(0, 8, rendered.frames.shape), 0, 255)
    assert flicker(noisy, static) > 0.01


def test_nothing_is_static_under_a_moving_camera_and_moving_objects_are_left_out():
    panning = random_scene(5, camera_moves=True)
    assert flicker(render(panning, 3, 32, 32).frames, static_pixels(panning, render(panning, 3, 32, 32).masks)) is None
    scene = random_scene(9, objects=2, camera_moves=False, objects_move=True)
    masks = render(scene, 3, 48, 48).masks
    static = static_pixels(scene, masks)
    objects = masks[:-1] < len(scene.objects)
    assert not static[objects].any() and static[~objects].mean() > 0.9


def test_a_share_over_some_surfaces_judges_only_those():
    scene, rendered = SCENES[0], RENDERS[0]
    objects = range(len(scene.objects))
    recoloured = list(scene.materials)
    for k in objects:  # every object asked for the wall's colour, which no object shows
        recoloured[k] = scene.materials[-1]
    floor_and_wall = material_share(rendered.frames, rendered.masks, tuple(recoloured), [len(recoloured) - 2,
                                                                                          len(recoloured) - 1])
    assert floor_and_wall.surfaces == 2 and floor_and_wall.colour == 1.0
    assert material_share(rendered.frames, rendered.masks, tuple(recoloured), objects).colour == 0.0
