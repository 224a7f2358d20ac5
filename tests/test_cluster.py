"""Nightly jobs on a real multi-process Ray cluster on 127.0.0.1 (a head and a worker node, started
with `ray start`): submitting through Ray Jobs, and surviving a killed actor and a killed driver."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time

import psutil
import pyarrow.parquet as pq
import pytest

from gen1_batch.media.synthetic import write_synthetic_clip
from tests.helpers import gen1, write_manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    port, dashboard = free_port(), free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    subprocess.run([*ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                    "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard), "--num-cpus", "1",
                    "--ray-client-server-port", str(free_port()), "--temp-dir", str(root),
                    "--disable-usage-stats"], env=env, check=True, capture_output=True)
    subprocess.run([*ray, "start", "--address", f"127.0.0.1:{port}", "--num-cpus", "2", "--disable-usage-stats"],
                   env=env, check=True, capture_output=True)
    for _ in range(60):  # the worker node shows in the cluster's status a few seconds after it started
        status = subprocess.run([*ray, "status", "--address", f"127.0.0.1:{port}"], env=env, capture_output=True,
                                text=True)
        if status.stdout.count("node_") == 2:
            break
        time.sleep(1)
    assert status.stdout.count("node_") == 2, status.stdout + status.stderr  # a head and a worker node
    yield {"gcs": f"127.0.0.1:{port}", "jobs": f"http://127.0.0.1:{dashboard}",
           "env": {k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}, "root": root}
    subprocess.run([*ray, "stop", "--force"], env=env, capture_output=True)


def shots(tmp_path, count, frames=24):
    rows = []
    for i in range(count):
        write_synthetic_clip(str(tmp_path / f"c{i}.mp4"), frames=frames, width=64, height=48, seed=i)
        rows.append({"shot_id": f"s{i}", "video": f"c{i}.mp4", "prompt": f"prompt {i}"})
    return write_manifest(tmp_path / "m.jsonl", rows)


def every_shot_once(out, count):
    """Each manifest row ended succeeded, or failed with a reason; once; nothing half-written."""
    results = pq.read_table(out / "results.parquet").to_pylist()
    assert sorted(r["shot_id"] for r in results) == [f"s{i}" for i in range(count)]
    for r in results:
        assert r["status"] == "succeeded" or r["error_message"], r
        if r["status"] == "succeeded":
            assert (out / r["shot_id"] / f"{r['shot_id']}.mp4").is_file()
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    return results


def test_gen1_submit_runs_the_job_on_the_cluster_and_never_twice(cluster, tmp_path):
    manifest = shots(tmp_path, 2)
    out = tmp_path / "out"
    args = ["submit", manifest, "--output", str(out), "--address", cluster["jobs"], "--run-id", "2026-11-21"]
    first = gen1(*args, "--wait", env=cluster["env"])
    assert first.returncode == 0, first.stdout + first.stderr
    assert "SUCCEEDED" in first.stderr
    every_shot_once(out, 2)
    again = json.loads(gen1(*args, "--json", env=cluster["env"], check=0).stdout)
    assert again["action"] == "succeeded"  # the same nightly run is not run twice
    status = json.loads(gen1("status", again["submission_id"], "--address", cluster["jobs"], "--json",
                             env=cluster["env"], check=0).stdout)
    assert status["status"] == "SUCCEEDED" and status["metadata"]["run_id"] == "2026-11-21"
    assert "2 succeeded, 0 failed" in gen1("logs", again["submission_id"], "--address", cluster["jobs"],
                                           env=cluster["env"], check=0).stdout


def run_and_kill(cluster, manifest, out, victim):
    """Start `gen1 run` on the cluster, kill `victim` once the first shot is done; return the run."""
    run = subprocess.Popen([sys.executable, "-m", "gen1_batch", "run", manifest, "--output", str(out), "--address",
                            cluster["gcs"], "--json"], env={**os.environ, **cluster["env"]}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not list(out.glob("*/report.json")) and time.time() < deadline and run.poll() is None:
        time.sleep(0.2)
    killed = victim(run)
    stdout, stderr = run.communicate(timeout=600)
    return run.returncode, stdout, stderr, killed


def diffusion_actor(run):
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if "DiffusionStage" in " ".join(proc.info["cmdline"] or []):
            os.kill(proc.info["pid"], signal.SIGKILL)
            return proc.info["pid"]
    return None


def test_a_killed_diffusion_actor_costs_no_shot(cluster, tmp_path):
    manifest, out = shots(tmp_path, 6, frames=40), tmp_path / "out"
    code, stdout, stderr, killed = run_and_kill(cluster, manifest, out, diffusion_actor)
    assert killed, "the diffusion actor was not found to kill"
    assert code == 0, stdout + stderr  # restarted and retried, within the bounded retries
    results = every_shot_once(out, 6)
    # The dataflow delivered each shot to the writer once: one progress line per shot, not per attempt.
    written = re.findall(r"^\[\d+/6\] (s\d+) ", stderr, re.M)
    assert sorted(written) == [f"s{i}" for i in range(6)], stderr
    assert all(r["status"] == "succeeded" for r in results)


def test_a_killed_driver_is_resumed_by_running_the_same_command_again(cluster, tmp_path):
    manifest, out = shots(tmp_path, 6, frames=40), tmp_path / "out"

    def driver(run):
        run.send_signal(signal.SIGKILL)
        return run.pid

    code, _, _, _ = run_and_kill(cluster, manifest, out, driver)
    assert code == -signal.SIGKILL
    done_before = {p.parent.name for p in out.glob("*/report.json")}
    assert done_before  # the first shots had finished
    again = gen1("run", manifest, "--output", str(out), "--address", cluster["gcs"], "--json", env=cluster["env"])
    assert again.returncode == 0, again.stderr
    counts = json.loads(again.stdout)["counts"]
    assert counts["skipped"] >= len(done_before) and counts["succeeded"] == 6
    every_shot_once(out, 6)
