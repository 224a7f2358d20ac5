import numpy as np
import pytest

from gen1_batch.toy.dataset import write_clip
from gen1_batch.toy.world import random_scene
from gen1_batch.train.data import TrainingRow
from gen1_batch.train.objective import draw
from gen1_batch.train.preprocess import SamplePlan
from gen1_batch.train.recipe import DataSpec, Recipe
from gen1_batch.train.samples import read_mask, read_sample


def test_a_draws_depth_and_mask_are_cropped_and_flipped_with_its_frames(tmp_path):
    scene = random_scene(4)
    rendered = write_clip(scene, str(tmp_path / "shot"), frames=6, width=64, height=48)
    npz = str(tmp_path / "shot.npz")
    row = TrainingRow(1, "video", str(tmp_path / "shot.mp4"), scene.caption, depth=npz, mask=npz)
    recipe = Recipe("r", "d", "tiny", ("all",), 1, data=DataSpec(width=48, height=48, frames=3, frame_stride=2,
                                                                  mask_weight=5.0))
    plan = SamplePlan(recipe, (row,), (), 1, 1000)
    d = draw(0, 0, 0, 0, kind="video", rows=1, frames=3, flip=False, structure=0, content_dropout=0.0,
             train_timesteps=1000)
    d = type(d)(**{**d.__dict__, "clip_start": 1.0, "crop_x": 1.0, "crop_y": 0.0, "flip": True})
    frames, depth, mask = read_sample(plan, d, truth=True, mask=True)
    assert frames.shape == (3, 48, 48, 3) and depth.shape == mask.shape == (3, 48, 48)
    objects = rendered.masks[[1, 3, 5], :, 16:][:, :, ::-1] < len(scene.objects)  # last start, the right, mirrored
    assert objects.any() and np.array_equal(mask, objects)
    nearest = rendered.depth[[1, 3, 5], :, 16:][:, :, ::-1]
    assert np.unravel_index(depth.argmax(), depth.shape) == np.unravel_index(nearest.argmin(), nearest.shape)
    assert read_sample(plan, d).mask is None  # read only when the recipe weighs masks


def test_a_mask_file_without_a_mask_array_is_named_with_what_it_holds(tmp_path):
    np.savez(tmp_path / "m.npz", depth=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"m\.npz: no `mask` array \(it has depth\)"):
        read_mask(str(tmp_path / "m.npz"), [0, 1], (4, 4))
