"""The training run on a local Ray (2 CPU workers, the tiny model): learning, exact resume, a killed
worker, bad samples, and the model folder it writes."""

import dataclasses
import json
import os
import signal
import threading
import time

import pytest
import torch

from gen1_batch.media.synthetic import write_synthetic_clip
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
        write_synthetic_clip(str(root / f"clip{i}.mp4"), frames=20, width=64, height=48, seed=i)
    (root / "broken.mp4").write_bytes(b"not a movie")
    return root


def run(output, manifest, steps, **data_changes):
    tiny = load_recipe("tiny")
    overrides = {"checkpoint_every": 2, "validate_every": 0, "data": dataclasses.replace(tiny.data, **data_changes)}
    return train(TrainOptions(recipe="tiny", data=manifest, output=str(output), steps=steps, workers=2,
                              overrides=overrides), say=lambda line: None)


def final_weights(output):
    step, checkpoint = latest_checkpoint(str(output))
    with checkpoint.as_directory() as folder:
        return step, torch.load(os.path.join(folder, STATE_FILE), weights_only=True)["trainable"]


def test_two_workers_overfit_a_fixed_batch(local_ray, data, tmp_path):
    manifest = write_manifest(tmp_path / "one.jsonl", [{"video": str(data / "clip0.mp4")}])
    run(tmp_path / "run", manifest, 16, image_probability=0.0, flip=False, structure=0, content_dropout=0.0,
        frame_stride=2)
    losses = [r["loss"] for r in map(json.loads, (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())
              if "loss" in r]
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < 0.6 * sum(losses[:4]) / 4, losses


def test_stop_and_resume_and_a_killed_worker_give_the_weights_of_an_uninterrupted_run_whose_model_edits(
        local_ray, data, tmp_path):
    manifest = write_manifest(tmp_path / "t.jsonl", [{"video": str(data / "clip0.mp4")},
                                                     {"video": str(data / "clip1.mp4")},
                                                     {"video": str(data / "broken.mp4")}])
    whole = run(tmp_path / "whole", manifest, 6)
    assert whole["skipped"] > 0  # the broken movie's samples, skipped and counted

    run(tmp_path / "stopped", manifest, 3)
    resumed = run(tmp_path / "stopped", manifest, 6)
    assert resumed["start"] == 3  # the stopped run's last checkpoint (its end)

    killed = []

    def kill_a_worker_at_step_3():
        import psutil

        metrics = tmp_path / "killed" / "metrics.jsonl"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            if metrics.exists() and any(json.loads(line).get("step", 0) >= 3 and "loss" in line
                                        for line in metrics.read_text().splitlines()):
                for p in psutil.process_iter(["cmdline"]):
                    if any("RayTrainWorker" in part for part in p.info["cmdline"] or []):
                        os.kill(p.pid, signal.SIGKILL)
                        killed.append(p.pid)
                        break
            time.sleep(0.2)

    killer = threading.Thread(target=kill_a_worker_at_step_3)
    killer.start()
    run(tmp_path / "killed", manifest, 6)
    killer.join()
    assert killed
    events = [json.loads(line) for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    # The workers started again (from the last checkpoint Ray Train had registered when the worker died).
    assert sum(e.get("event") == "start" for e in events) >= 2

    step, expected = final_weights(tmp_path / "whole")
    for output in ("stopped", "killed"):
        other_step, weights = final_weights(tmp_path / output)
        assert other_step == step == 6
        assert weights.keys() == expected.keys()
        assert all(torch.equal(weights[k], expected[k]) for k in expected), output

    # The model folder edits through `gen1 run` and says what is trained.
    from gen1_batch.model.loading import describe_model
    from tests.helpers import gen1

    model = describe_model(whole["model"])
    assert "unet" not in " ".join(model.random_weights) and "vae" in model.random_weights
    shots = write_manifest(tmp_path / "shots.jsonl", [{"shot_id": "sh010", "video": str(data / "clip1.mp4"),
                                                       "prompt": "a clay world"}])
    gen1("run", shots, "--model", whole["model"], "--output", str(tmp_path / "out"), check=0)
    report = json.loads((tmp_path / "out" / "sh010" / "report.json").read_text())
    assert report["status"] == "succeeded" and report["model"]["weights"] == "partly random"
