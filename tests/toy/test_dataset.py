import json

import numpy as np

from gen1_batch.media import read_video
from gen1_batch.toy.dataset import main, read_shot
from gen1_batch.toy.measures import material_share
from gen1_batch.toy.render import render
from gen1_batch.toy.world import is_held_out


def test_the_dataset_command_writes_manifests_the_trainer_and_gen1_run_accept(tmp_path, capsys):
    from gen1_batch.manifest import load_manifest
    from gen1_batch.train.data import load_training_manifest

    main([str(tmp_path), "--clips", "2", "--images", "1", "--evaluation", "1", "--validation", "1",
          "--width", "48", "--height", "32"])
    assert "training manifest" in capsys.readouterr().out
    rows = load_training_manifest(str(tmp_path / "train.jsonl"))
    assert [r.kind for r in rows] == ["video", "video", "image", "video"]
    assert [r.split for r in rows] == ["train"] * 3 + ["validation"]
    assert all(r.caption for r in rows) and all(r.mask == r.depth for r in rows if r.split == "train")
    seeds_trained = [read_shot(r.url[:-4])[0].seed for r in rows if r.split == "train"]
    assert not any(map(is_held_out, seeds_trained))
    shots = load_manifest(str(tmp_path / "evaluation.jsonl"))
    assert len(shots) == 2


def test_a_written_clip_holds_its_scene_depth_masks_and_materials(tmp_path):
    from gen1_batch.toy.dataset import write_clip
    from gen1_batch.toy.world import random_scene

    scene = random_scene(4)
    write_clip(scene, str(tmp_path / "shot"), frames=6, width=64, height=64)
    again, data = read_shot(str(tmp_path / "shot"))
    assert again == scene and data["caption"] == scene.caption
    truth = np.load(tmp_path / "shot.npz")
    rendered = render(scene, 6, 64, 64)
    assert np.array_equal(truth["depth"], rendered.depth) and np.array_equal(truth["masks"], rendered.masks)
    assert list(truth["surface_names"]) == list(scene.surface_names)
    assert np.array_equal(truth["mask"], rendered.masks < len(scene.objects))  # the objects: for mask_weight
    frames, _ = read_video(str(tmp_path / "shot.mp4"), size=(64, 64))
    assert frames.shape == (6, 64, 64, 3)
    assert material_share(frames, truth["masks"], scene.materials).colour == 1.0
    json.dumps(data)
