"""The training run on one local Ray for the module (2 CPU workers, the tiny model, 64×48 clips of
8 frames): learning, exact resume after a stop and after a killed worker, bad samples, and the model
folder it writes."""

import dataclasses
import json
import os
import signal
import threading
import time

import pytest
import torch

from gen1_batch.media.synthetic import write_synthetic_clip
from gen1_batch.model.loading import describe_model
from gen1_batch.train.loop import STATE_FILE
from gen1_batch.train.recipe import load_recipe
from gen1_batch.train.run import TrainOptions, latest_checkpoint, train
from tests.helpers import write_manifest


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train-data")
    for i in range(2):
        write_synthetic_clip(str(root / f"clip{i}.mp4"), frames=15, width=64, height=48, seed=i)
    (root / "broken.mp4").write_bytes(b"not a movie")
    return root


def run(output, manifest, steps, checkpoint_every=2, recipe_changes=None, **data_changes):
    tiny = load_recipe("tiny")
    overrides = {"checkpoint_every": checkpoint_every, "validate_every": 0,
                 "data": dataclasses.replace(tiny.data, **data_changes), **(recipe_changes or {})}
    return train(TrainOptions(recipe="tiny", data=manifest, output=str(output), steps=steps, workers=2,
                              overrides=overrides), say=lambda line: None)


def events(output):
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def final_state(output):
    step, checkpoint = latest_checkpoint(str(output))
    with checkpoint.as_directory() as folder:
        return step, torch.load(os.path.join(folder, STATE_FILE), weights_only=True)


def final_weights(output):
    step, state = final_state(output)
    return step, state["trainable"]


def kill_a_training_worker_after_checkpoint(metrics, step, killed):
    """SIGKILL one of this test's own Ray Train workers once `step`'s checkpoint is logged."""
    import psutil

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if metrics.exists() and any(json.loads(line).get("event") == "checkpoint" and f'"step": {step}' in line
                                    for line in metrics.read_text().splitlines()):
            for p in psutil.Process().children(recursive=True):  # this test's Ray only
                try:
                    if any("RayTrainWorker" in part for part in p.cmdline()):
                        os.kill(p.pid, signal.SIGKILL)
                        killed.append(p.pid)
                        return
                except psutil.Error:
                    continue
        time.sleep(0.1)


def test_two_workers_overfit_a_fixed_batch(local_ray, data, tmp_path):
    manifest = write_manifest(tmp_path / "one.jsonl", [{"video": str(data / "clip0.mp4")}])
    # One clip, one clip start (15 frames, 8 frames 2 apart), no flips, images, t_s or content dropout.
    run(tmp_path / "run", manifest, 10, checkpoint_every=10, image_probability=0.0, flip=False, structure=0,
        content_dropout=0.0, frame_stride=2)
    losses = [r["loss"] for r in events(tmp_path / "run") if "loss" in r]
    assert len(losses) == 10
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3, losses


def test_a_stopped_run_continued_with_a_killed_worker_ends_with_the_weights_of_an_uninterrupted_run(
        local_ray, data, tmp_path):
    manifest = write_manifest(tmp_path / "t.jsonl", [{"video": str(data / "clip0.mp4")},
                                                     {"video": str(data / "clip1.mp4")},
                                                     {"video": str(data / "broken.mp4")}])
    whole = run(tmp_path / "whole", manifest, 6)
    assert whole["skipped"] > 0  # the broken movie's samples, skipped and counted
    skipped = [e for e in events(tmp_path / "whole") if e.get("event") == "skipped"]
    assert len(skipped) == whole["skipped"] and all("row 3" in e["error"] for e in skipped)

    # Stopped at step 3, then the same run continued to 6, with a worker killed by SIGKILL right after
    # the checkpoint at step 4: Ray Train restarts the workers from that checkpoint (no interval lost).
    run(tmp_path / "stopped", manifest, 3)
    killed: list[int] = []
    killer = threading.Thread(target=kill_a_training_worker_after_checkpoint,
                              args=(tmp_path / "stopped" / "metrics.jsonl", 4, killed))
    killer.start()
    continued = run(tmp_path / "stopped", manifest, 6)
    killer.join()
    assert continued["start"] == 3  # the stopped run's last checkpoint (its end)
    assert killed
    starts = [e["step"] for e in events(tmp_path / "stopped") if e.get("event") == "start"]
    assert starts == [0, 3, 4]

    # Every random draw is a function of (seed, step, rank, slot), and gloo's all-reduce of two ranks
    # sums in a fixed order: the weights are bit-identical.
    step, expected = final_weights(tmp_path / "whole")
    other_step, weights = final_weights(tmp_path / "stopped")
    assert other_step == step == 6
    assert weights.keys() == expected.keys()
    assert all(torch.equal(weights[k], expected[k]) for k in expected)

    # Run again once finished, it leaves the model folder as it is (a rewritten folder would look like
    # a new model to every run that starts from it).
    before = describe_model(whole["model"]).key
    again = run(tmp_path / "whole", manifest, 6)
    assert again["steps"] == 6 and describe_model(whole["model"]).key == before

    # The model folder edits through `gen1 run` and says what is trained.
    from tests.helpers import gen1

    model = describe_model(whole["model"])
    assert "unet" not in " ".join(model.random_weights) and "vae" in model.random_weights
    shots = write_manifest(tmp_path / "shots.jsonl", [{"shot_id": "sh010", "video": str(data / "clip1.mp4"),
                                                       "prompt": "a clay world"}])
    gen1("run", shots, "--model", whole["model"], "--output", str(tmp_path / "out"), check=0)
    report = json.loads((tmp_path / "out" / "sh010" / "report.json").read_text())
    assert report["status"] == "succeeded" and report["model"]["weights"] == "partly random"


def test_an_ema_begun_at_a_checkpoint_saved_without_one_ends_as_if_the_run_had_kept_it_from_the_start(
        local_ray, data, tmp_path):
    manifest = write_manifest(tmp_path / "t.jsonl", [{"video": str(data / "clip0.mp4")}])
    ema = {"ema_decay": 0.5, "ema_start": 2}
    run(tmp_path / "whole", manifest, 4, recipe_changes=ema)
    run(tmp_path / "late", manifest, 2)  # a run made before its recipe kept an EMA
    run(tmp_path / "late", manifest, 4, recipe_changes=ema)
    (_, whole), (_, late) = final_state(tmp_path / "whole"), final_state(tmp_path / "late")
    assert len(late["ema"]) == len(whole["ema"]) > 0
    assert all(torch.equal(a, b) for a, b in zip(late["ema"], whole["ema"], strict=True))
    trained = [p for p in whole["trainable"].values() if p.is_floating_point()]
    assert not all(torch.equal(e, p) for e, p in zip(whole["ema"], trained, strict=True))  # it did average


def test_the_autoencoder_recipe_trains_only_the_autoencoder_and_sets_its_scaling_from_data(local_ray, tmp_path):
    from gen1_batch.model.loading import load_components
    from gen1_batch.toy.dataset import write_dataset

    manifests = write_dataset(str(tmp_path / "toy"), clips=2, images=2, evaluation=0, validation=0, frames=16)
    result = train(TrainOptions(recipe="toy-4-autoencoder", data=manifests["train"], output=str(tmp_path / "run"),
                                model="toy-init", steps=2, workers=1), say=lambda line: None)
    model = describe_model(result["model"])
    assert "vae" not in model.random_weights and "unet" in model.random_weights
    base = load_components("toy-init", ["vae", "depth_estimator"])
    trained = load_components(result["model"], ["vae", "depth_estimator"])
    assert trained["vae"].config.scaling_factor != base["vae"].config.scaling_factor  # 1 / std of toy latents
    changed = [n for n, p in trained["vae"].state_dict().items() if not torch.equal(p, base["vae"].state_dict()[n])]
    assert changed
    assert all(torch.equal(p, base["depth_estimator"].state_dict()[n])
               for n, p in trained["depth_estimator"].state_dict().items())


def test_the_decoder_recipe_changes_the_decoder_alone_and_keeps_the_scaling_and_the_latents(local_ray, tmp_path):
    from gen1_batch.model.loading import load_components
    from gen1_batch.toy.dataset import write_dataset

    manifests = write_dataset(str(tmp_path / "toy"), clips=2, images=2, evaluation=0, validation=0, frames=16)
    result = train(TrainOptions(recipe="toy-9-decoder", data=manifests["train"], output=str(tmp_path / "run"),
                                model="toy-init", steps=2, workers=1), say=lambda line: None)
    base = load_components("toy-init", ["vae"])["vae"]
    trained = load_components(result["model"], ["vae"])["vae"]
    assert trained.config.scaling_factor == base.config.scaling_factor
    before = base.state_dict()
    changed = {n for n, p in trained.state_dict().items() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith(("decoder.", "post_quant_conv.")) for n in changed)
    with open(os.path.join(result["model"], "training.json")) as f:
        assert json.load(f)["trained"] == ["vae.decoder"]


def test_an_output_holding_another_run_is_refused_naming_what_changed_and_an_older_run_json_still_resumes(tmp_path):
    from gen1_batch.train.run import RUN_FILE, RunMismatch, check_identity

    identity = {"recipe": "toy-8", "seed": 1, "batch_size": 4, "image_batch_size": 4}
    assert check_identity(str(tmp_path), identity, resume=False) == 0  # a new run writes its run.json
    with pytest.raises(RunMismatch, match=r"holds another training run \(seed 1 -> 2, image_batch_size 4 -> 32\)"):
        check_identity(str(tmp_path), {**identity, "seed": 2, "image_batch_size": 32}, resume=False)
    # A run.json written before recipes had image_batch_size: its image steps took batch_size images.
    (tmp_path / RUN_FILE).write_text(json.dumps({k: v for k, v in identity.items() if k != "image_batch_size"}))
    assert check_identity(str(tmp_path), identity, resume=False) == 0
    with pytest.raises(RunMismatch, match=r"image_batch_size 4 -> 32"):
        check_identity(str(tmp_path), {**identity, "image_batch_size": 32}, resume=False)
