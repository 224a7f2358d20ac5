import time

import numpy as np

from gen1_batch.model.metrics import relative_depth
from gen1_batch.toy.render import render, render_image
from gen1_batch.toy.world import random_scene


def test_a_64x64_8_frame_clip_renders_in_well_under_a_second_of_cpu():
    scene = random_scene(1)
    start = time.process_time()  # CPU time: the wall clock of a shared machine says little
    out = render(scene, 8, 64, 64)
    assert time.process_time() - start < 0.6
    assert out.frames.shape == (8, 64, 64, 3) and out.frames.dtype == np.uint8
    assert out.depth.shape == out.masks.shape == (8, 64, 64)


def test_rendering_is_reproducible_and_stills_are_frames():
    scene = random_scene(2)
    a, b = render(scene, 3, 32, 32), render(scene, 3, 32, 32)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.depth, b.depth)
    assert np.array_equal(render_image(scene, 32, 32, frame=2), a.frames[2])


def test_depth_is_exact_on_the_floor():
    """A floor pixel's depth along the camera axis is where its ray meets y = 0."""
    scene = random_scene(5, objects=1, camera_moves=False)
    out = render(scene, 1, 64, 48)
    floor = scene.surface_names.index("floor")
    cam = scene.camera
    rows = np.arange(48)[:, None] + 0.5 - 24
    # camera-space ray (x, -row/s, 1) pitched down: world y of the direction is -(row/s)cos p - sin p
    s = cam.focal * 64 / 2
    dy = -(rows / s) * np.cos(cam.pitch) - np.sin(cam.pitch)
    expected = np.broadcast_to(-cam.height / dy, (48, 64))
    on = out.masks[0] == floor
    assert on.sum() > 300
    np.testing.assert_allclose(out.depth[0][on], expected[on], rtol=1e-5)


def test_masks_label_every_surface_and_objects_are_nearer_than_the_wall():
    scene = random_scene(6)
    out = render(scene, 2, 64, 64)
    assert set(np.unique(out.masks)) <= set(range(len(scene.surface_names)))
    wall = out.masks == len(scene.surface_names) - 1
    assert out.depth[~wall].max() <= out.depth[wall].max()


def test_moving_objects_move_and_a_static_scene_does_not():
    moving = render(random_scene(8, camera_moves=True), 2, 48, 48)
    still = render(random_scene(8, camera_moves=False, objects_move=False), 2, 48, 48)
    assert not np.array_equal(moving.frames[0], moving.frames[1])
    assert np.array_equal(still.frames[0], still.frames[1])


def test_relative_depth_is_near_high_in_zero_one():
    depth = np.array([[[1.0, 2.0, 4.0]]])
    np.testing.assert_allclose(relative_depth(depth), [[[1.0, 1 / 3, 0.0]]], atol=1e-6)
