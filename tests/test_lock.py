"""One run at a time on an output: the lease on its own (local folder and object store), then two
`gen1 run`s on one output, the first holding it from another process."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from gen1_batch import storage
from gen1_batch.cli import app
from gen1_batch.lock import LOCK_NAME, LockHeld, OutputLock
from tests.helpers import write_manifest

runner = CliRunner()

LEASE = 0.6  # seconds: short, so that heartbeats and expiry show within a test


@pytest.fixture(params=["local", "memory"])
def output(request, tmp_path):
    return str(tmp_path / "out") if request.param == "local" else f"memory://locks/{tmp_path.name}/out"


def test_a_second_run_is_refused_naming_the_holder_and_gets_the_output_once_it_is_released(output):
    notes = []
    with OutputLock(output, lease=LEASE) as first:
        with pytest.raises(LockHeld) as refused:
            OutputLock(output, lease=LEASE, say=notes.append).acquire()
        message = str(refused.value)
        for fact in (first.record["run_id"], first.record["host"], f"pid {os.getpid()}",
                     first.record["started_at"], "last heartbeat", "--wait-for-lock"):
            assert fact in message
        assert "\n" not in message
    assert not storage.exists(storage.join(output, LOCK_NAME))  # released
    with OutputLock(output, lease=LEASE):
        pass
    assert notes == []


def test_the_heartbeat_keeps_a_long_run_s_lock_alive_past_its_lease(output):
    with OutputLock(output, lease=LEASE) as held:
        time.sleep(3 * LEASE)
        beat = storage.read_json(storage.join(output, LOCK_NAME))
        assert beat["run_id"] == held.record["run_id"] and time.time() - beat["heartbeat"] < LEASE
        with pytest.raises(LockHeld):
            OutputLock(output, lease=LEASE).acquire()


def test_a_dead_run_s_lock_is_taken_over_after_its_lease_with_a_notice(output):
    dead = OutputLock(output, lease=LEASE)
    dead.record["host"] = "render-node-7"  # another machine: only its heartbeat can tell
    dead._write()  # what a killed run leaves: a lock nobody renews
    notes = []
    with pytest.raises(LockHeld):
        OutputLock(output, lease=LEASE).acquire()  # still within its lease
    time.sleep(LEASE * 1.5)
    with OutputLock(output, lease=LEASE, say=notes.append) as taker:
        assert storage.read_json(storage.join(output, LOCK_NAME))["run_id"] == taker.record["run_id"]
    assert len(notes) == 1 and "taking over" in notes[0] and dead.record["run_id"] in notes[0]


def test_wait_for_lock_waits_with_a_message_until_the_holder_is_done(output):
    holder = OutputLock(output, lease=LEASE)
    holder.acquire()
    threading.Timer(1.0, holder.release).start()
    notes = []
    start = time.monotonic()
    with OutputLock(output, lease=LEASE, wait=True, say=notes.append):
        waited = time.monotonic() - start
    assert waited >= 1.0 and len(notes) == 1
    assert notes[0].startswith("waiting for") and holder.record["run_id"] in notes[0]


def test_runs_that_start_together_get_the_lock_one_at_a_time(output):
    outcomes = []

    def run():
        try:
            with OutputLock(output, lease=5):  # settles 0.5 s: far more than a read and a write take
                outcomes.append("held")
                time.sleep(1)
        except LockHeld:
            outcomes.append("refused")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["held", "refused", "refused", "refused"]


def test_the_lock_is_released_when_the_run_fails_and_a_release_never_removes_another_run_s_lock(output):
    with pytest.raises(RuntimeError), OutputLock(output, lease=LEASE):
        raise RuntimeError("the job broke")
    assert not storage.exists(storage.join(output, LOCK_NAME))
    late = OutputLock(output, lease=LEASE)
    with OutputLock(output, lease=LEASE) as current:
        late.release()  # a run that lost its lock and ends
        assert storage.read_json(storage.join(output, LOCK_NAME))["run_id"] == current.record["run_id"]


HOLD = """
import sys, time
from gen1_batch.lock import OutputLock
lock = OutputLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_second_gen1_run_on_the_same_output_refuses_until_the_first_is_gone(tmp_path, make_clip):
    make_clip("a.mp4", frames=4)
    manifest = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}])
    out = str(tmp_path / "out")
    first = subprocess.Popen([sys.executable, "-c", HOLD, out], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        second = runner.invoke(app, ["run", manifest, "--output", out, "--only-failed"], env={"COLUMNS": "80"})
        assert second.exit_code == 2
        (line,) = second.stderr.splitlines()  # one line, however narrow the terminal
        assert line.startswith("error:") and f"pid {first.pid}" in line and "last heartbeat" in line
        assert runner.invoke(app, ["run", manifest, "--output", out, "--dry-run"]).exit_code == 0  # needs no lock
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding it: no release
        first.wait()
    third = runner.invoke(app, ["run", manifest, "--output", out, "--only-failed", "--json"])  # at once
    assert third.exit_code == 0, third.output
    assert "taking over the lock" in third.stderr and f"pid {first.pid}" in third.stderr
    assert json.loads(third.stdout)["counts"]["ran"] == 0  # --only-failed: nothing failed before
    assert not os.path.exists(os.path.join(out, LOCK_NAME))
