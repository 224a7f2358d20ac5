"""The dataflow's settings, without starting Ray: finite retries, one shot per actor, resources."""

from gen1_batch.config import MODEL_STAGES, JobConfig, default_resources
from gen1_batch.model.loading import describe_model
from gen1_batch.pipeline import _actor_stage, _task_stage, forwarded_env, short_error


def job(retries=2):
    return JobConfig(manifest="m", output="o", model=describe_model("tiny"), resources=default_resources(2, 0),
                     retries=retries)


def test_model_stages_have_finite_restarts_and_hold_one_shot_at_a_time():
    for stage in MODEL_STAGES:
        args = _actor_stage(job(retries=3), stage)
        assert (args["max_restarts"], args["max_task_retries"]) == (3, 3)  # Ray's default is -1: unlimited
        assert args["compute"].max_tasks_in_flight_per_actor == 1 and args["batch_size"] == 1
    for stage in ("decode", "write"):
        assert _task_stage(job(retries=1), stage)["max_retries"] == 1


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
