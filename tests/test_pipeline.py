"""The dataflow's settings (finite retries, one shot per actor, resources that fit), and how shots
flow through it at scale: committed in a steady stream, a bounded number in flight."""

import json
import os

import pytest

from gen1_batch.admission import shots_in_flight_limit
from gen1_batch.config import JobConfig, default_resources
from gen1_batch.model.loading import describe_model
from gen1_batch.pipeline import forwarded_env, resolve_resources, short_error, stage_arguments
from gen1_batch.stages.spec import DATAFLOW, MODEL_STAGES
from tests.helpers import gen1, write_tiny_shots


def job(retries=2):
    return JobConfig(manifest="m", output="o", model=describe_model("tiny"), resources=default_resources(2, 0),
                     retries=retries)


def test_model_stages_have_finite_restarts_and_hold_one_shot_at_a_time():
    for stage in DATAFLOW:
        args = stage_arguments(job(retries=3), stage)
        assert args["batch_size"] == 1
        if stage.actors:
            assert (args["max_restarts"], args["max_task_retries"]) == (3, 3)  # Ray's default is -1: unlimited
            assert args["compute"].max_tasks_in_flight_per_actor == 1
        else:
            assert args["max_retries"] == 3
    assert [s.name for s in DATAFLOW if s.actors] == list(MODEL_STAGES) == ["depth", "content", "diffusion", "metrics"]


def test_gpus_when_the_cluster_has_them_cpu_otherwise():
    cpu = default_resources(cpus=2, gpus=0)
    assert all(r.num_gpus == 0 for r in cpu.values())
    actors = sum(cpu[s].num_cpus for s in MODEL_STAGES)
    assert actors + cpu["decode"].num_cpus <= 2  # all actors and a decode task fit on 2 cores
    gpu = default_resources(cpus=64, gpus=8)
    assert gpu["diffusion"].num_gpus == 1 and gpu["diffusion"].pool == (1, 7)
    assert sum(gpu[s].num_gpus for s in ("depth", "content", "metrics")) <= 1  # share one GPU
    one = default_resources(cpus=8, gpus=1)
    assert sum(one[s].num_gpus for s in MODEL_STAGES) <= 1 and one["diffusion"].num_gpus == 0.5


def test_storage_credentials_reach_the_workers(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("UNRELATED", "x")
    env = forwarded_env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000" and "UNRELATED" not in env


def test_errors_from_workers_are_cut_to_their_last_line():
    error = RuntimeError("\x1b[36mray::MapWorker\x1b[39m died\n  File \"x.py\", line 1\nOSError: no config.json")
    assert short_error(error) == "RuntimeError: OSError: no config.json"


def minimum_cpus(resources):
    """CPUs that every stage's minimum (one task, or its minimum actors) takes at once."""
    return sum(r.num_cpus * (r.pool[0] if stage in MODEL_STAGES else 1) for stage, r in resources.items())


@pytest.mark.parametrize("cpus,gpus", [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (16, 0), (96, 0),
                                       (2, 1), (4, 1), (6, 1), (8, 2), (8, 8), (64, 8)])
def test_every_stage_can_run_at_once_so_write_is_never_starved(cpus, gpus):
    # Ray Data reserves each stage's minimum from the first stage on; one that no longer fits gets no
    # CPU until the stages before it finish: write waited for decode to read the whole manifest.
    resources = default_resources(cpus, gpus)
    assert minimum_cpus(resources) <= cpus
    assert sum(r.num_gpus * r.pool[0] for r in resources.values()) <= gpus
    assert all(r.num_cpus > 0 for r in resources.values())


def test_stage_overrides_still_fit_the_cluster(monkeypatch):
    monkeypatch.setattr("gen1_batch.pipeline.cluster_resources", lambda: (2.0, 0.0))
    resources = resolve_resources({"diffusion": {"actors": 3, "min_actors": 3}})
    assert resources["diffusion"].pool == (3, 3) and minimum_cpus(resources) <= 2


def test_shots_commit_from_the_first_one_with_a_bounded_number_in_flight(tmp_path):
    shots = 30
    bound = shots_in_flight_limit(default_resources(os.cpu_count(), 0))  # the pipeline's width here
    assert bound < shots
    out = tmp_path / "out"
    gen1("run", write_tiny_shots(tmp_path, shots), "--output", str(out), check=0)
    timelines = [json.loads(p.read_text())["timeline"] for p in out.glob("*/report.json")]
    assert len(timelines) == shots
    # Decoded but not yet committed, at any moment: from the end of decode to the end of write.
    events = sorted([(t["decode"], 1) for t in timelines] + [(t["write"], -1) for t in timelines])
    level = most = 0
    for _, step in events:
        level += step
        most = max(most, level)
    assert most <= bound
    # Commits began while shots were still being decoded, not after decode had read the manifest.
    assert min(t["write"] for t in timelines) < max(t["decode"] for t in timelines)
