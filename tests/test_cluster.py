"""Nightly jobs on a real multi-process Ray cluster on 127.0.0.1 (a head and a worker node, started
with `ray start`): submitting through Ray Jobs, and surviving a killed actor and a killed driver.

The head is started the default way on a machine where Ray has run before: no RAY_AUTH_MODE, and a
~/.ray/auth_token (any local `ray.init` writes one), which makes `ray start --head` turn token
authentication on."""

import contextlib
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
from tests.helpers import gen1, with_env, write_manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NO_TOKEN = {"RAY_AUTH_MODE": None, "RAY_AUTH_TOKEN": None, "RAY_AUTH_TOKEN_PATH": None, "RAY_ADDRESS": None}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root, home = tmp_path_factory.mktemp("ray"), tmp_path_factory.mktemp("home")
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    port, dashboard = free_port(), free_port()
    env = with_env({**NO_TOKEN, "HOME": str(home)})
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    try:
        subprocess.run([*ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard), "--num-cpus", "1",
                        "--ray-client-server-port", str(free_port()), "--temp-dir", str(root),
                        # Ray's fixed default (52365) is taken by any other Ray on this machine.
                        "--dashboard-agent-listen-port", str(free_port()),
                        "--disable-usage-stats"], env=env, check=True, capture_output=True)
        env["RAY_AUTH_MODE"] = "token"  # joining an address: Ray turns token mode on only when told to
        subprocess.run([*ray, "start", "--address", f"127.0.0.1:{port}", "--num-cpus", "2", "--disable-usage-stats",
                        "--dashboard-agent-listen-port", str(free_port()), "--temp-dir", str(root)],
                       env=env, check=True, capture_output=True)
        for _ in range(60):  # the worker node shows in the cluster's status a few seconds after it started
            status = subprocess.run([*ray, "status", "--address", f"127.0.0.1:{port}"], env=env, capture_output=True,
                                    text=True)
            if status.stdout.count("node_") == 2:
                break
            time.sleep(1)
        assert status.stdout.count("node_") == 2, status.stdout + status.stderr  # a head and a worker node
        yield {"gcs": f"127.0.0.1:{port}", "jobs": f"http://127.0.0.1:{dashboard}",
               "env": {**NO_TOKEN, "HOME": str(home), "RAY_AUTH_MODE": "token"},  # gen1 run --address HOST:PORT
               "home": {**NO_TOKEN, "HOME": str(home)},  # only the token file, as on the head: submit, status, logs
               "root": root}
    finally:  # also when the cluster did not come up
        stop_cluster(root)


def stop_cluster(root):
    """Stop this cluster's processes only, found by its temporary folder (`ray stop` would stop every
    Ray on the machine, other jobs' and tests' too)."""
    nodes = [p for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]
    processes = {}
    for node in nodes:
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.update({p.pid: p for p in [node, *node.children(recursive=True)]})
    for process in processes.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(list(processes.values()), timeout=20)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


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
    first = gen1(*args, "--wait", env=cluster["home"])  # the token file, and no setting at all
    assert first.returncode == 0, first.stdout + first.stderr
    assert "SUCCEEDED" in first.stderr
    every_shot_once(out, 2)
    again = json.loads(gen1(*args, "--json", env=cluster["home"], check=0).stdout)
    assert again["action"] == "succeeded"  # the same nightly run is not run twice
    status = json.loads(gen1("status", again["submission_id"], "--address", cluster["jobs"], "--json",
                             env=cluster["home"], check=0).stdout)
    assert status["status"] == "SUCCEEDED" and status["metadata"]["run_id"] == "2026-11-21"
    assert "2 succeeded, 0 failed" in gen1("logs", again["submission_id"], "--address", cluster["jobs"],
                                           env=cluster["home"], check=0).stdout


def test_without_the_token_submit_says_in_one_line_what_to_do(cluster, tmp_path):
    manifest = shots(tmp_path, 1)
    result = gen1("submit", manifest, "--output", str(tmp_path / "out"), "--address", cluster["jobs"],
                  env={**NO_TOKEN, "HOME": str(tmp_path)}, check=2)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "requires its authentication token, and none was found here" in result.stderr


def run_and_kill(cluster, manifest, out, victim):
    """Start `gen1 run` on the cluster, kill `victim` once the first shot is done; return the run."""
    run = subprocess.Popen([sys.executable, "-m", "gen1_batch", "run", manifest, "--output", str(out), "--address",
                            cluster["gcs"], "--json"], env=with_env(cluster["env"]), stdout=subprocess.PIPE,
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
