import pytest

from gen1_batch.toy.world import MATERIALS, Material, Scene, is_held_out, random_scene, seeds


def test_a_seed_always_gives_the_same_scene():
    assert random_scene(7) == random_scene(7)
    assert random_scene(7) != random_scene(8)


def test_held_out_seeds_are_about_one_in_ten_and_never_among_training_seeds():
    training, held_out = set(seeds(500, held_out=False)), set(seeds(50, held_out=True))
    assert not training & held_out
    assert all(is_held_out(s) for s in held_out) and not any(is_held_out(s) for s in training)
    assert 0.05 < sum(map(is_held_out, range(2000))) / 2000 < 0.15


def test_the_caption_names_every_surface_with_its_material():
    scene = random_scene(3)
    for material, name in zip(scene.materials, scene.surface_names, strict=True):
        assert f"{material.words()} {'wall' if name == 'background' else name}" in scene.caption


def test_other_materials_keep_the_shapes_camera_and_motion():
    scene = random_scene(4)
    other = scene.with_materials([MATERIALS[0]] * len(scene.materials))
    assert other.materials == (MATERIALS[0],) * len(scene.materials)
    assert [(o.shape, o.x, o.z, o.motion) for o in other.objects] == [(o.shape, o.x, o.z, o.motion)
                                                                      for o in scene.objects]
    assert other.camera == scene.camera
    with pytest.raises(ValueError):
        scene.with_materials([MATERIALS[0]])


def test_a_scene_survives_its_json_form():
    import json

    scene = random_scene(11)
    assert Scene.from_dict(json.loads(json.dumps(scene.to_dict()))) == scene


def test_unknown_materials_are_refused():
    with pytest.raises(ValueError, match="unknown material"):
        Material("mauve", "flat")
