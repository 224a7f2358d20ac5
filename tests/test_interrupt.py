"""Ctrl-C and SIGTERM during `gen1 run`: the first stops new shots and lets the ones in flight
commit, the second stops at once; either way exit 130 with a summary of what is done, nothing
partial at a final path, and the same command finishes the rest."""

import json
import os
import signal
import time

import av
import pyarrow.parquet as pq
import pytest

from gen1_batch.interrupt import EXIT_INTERRUPTED, StopNow, StopSignals
from gen1_batch.storage import TMP_MARKER
from tests.helpers import gen1, start_gen1, wait_for_reports, write_tiny_shots

SHOTS = 24  # more than the dataflow holds at once (10 on a CPU machine), so the job is still going


def committed(out):
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}


def leftovers(out):
    """Temporary files, and videos at their final path that do not decode whole."""
    found = [str(p) for p in out.rglob("*") if TMP_MARKER in p.name]
    for video in out.glob("*/*.mp4"):
        with av.open(str(video)) as c:
            if sum(1 for _ in c.decode(video=0)) != 3:
                found.append(f"{video}: partial")
    return found


@pytest.fixture(scope="module")
def ctrl_c(tmp_path_factory):
    """A job stopped by Ctrl-C after its first commit, then the same command again."""
    root = tmp_path_factory.mktemp("ctrl_c")
    manifest, out = write_tiny_shots(root, SHOTS), root / "out"
    proc = start_gen1("run", manifest, "--output", str(out), log=root / "first")
    wait_for_reports(out, 1, proc)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    proc.wait(timeout=300)
    state = {"returncode": proc.returncode, "stderr": (root / "first.err").read_text(),
             "stdout": (root / "first.out").read_text(), "reports": committed(out),
             "summary": json.loads((out / "summary.json").read_text()), "leftovers": leftovers(out),
             "results": pq.read_table(out / "results.parquet").to_pylist(), "index": (out / "index.html").exists()}
    state["again"] = gen1("run", manifest, "--output", str(out), "--json")
    return state


def test_the_first_ctrl_c_says_so_in_one_line_and_exits_130(ctrl_c):
    assert ctrl_c["returncode"] == EXIT_INTERRUPTED, ctrl_c["stderr"]
    (line,) = [ln for ln in ctrl_c["stderr"].splitlines() if "interrupted (SIGINT)" in ln]
    assert "no new shots start" in line
    assert "Traceback" not in ctrl_c["stderr"]


def test_shots_in_flight_commit_and_the_summary_lists_what_is_done(ctrl_c):
    reports, summary = ctrl_c["reports"], ctrl_c["summary"]
    assert 0 < len(reports) < SHOTS
    assert all(r["status"] == "succeeded" for r in reports.values())
    assert summary["interrupted"] is True
    assert summary["counts"]["succeeded"] == len(reports) and summary["counts"]["shots"] == SHOTS
    assert {r["shot_id"] for r in ctrl_c["results"]} == set(reports) and ctrl_c["index"]
    assert ctrl_c["leftovers"] == []


def test_shots_not_run_are_listed_as_not_run_not_as_failures(ctrl_c):
    summary = ctrl_c["summary"]
    assert summary["failed"] == [] and summary["counts"]["failed"] == 0
    assert sorted(summary["not_run"]) == sorted({f"s{i:03d}" for i in range(SHOTS)} - set(ctrl_c["reports"]))
    assert f"{SHOTS - len(ctrl_c['reports'])} shot(s) not run" in ctrl_c["stdout"]


def test_the_same_command_finishes_the_rest(ctrl_c):
    again = ctrl_c["again"]
    assert again.returncode == 0, again.stderr
    counts = json.loads(again.stdout)["counts"]
    assert counts == {"shots": SHOTS, "succeeded": SHOTS, "failed": 0, "ran": SHOTS - len(ctrl_c["reports"]),
                      "skipped": len(ctrl_c["reports"]), "not_run": 0}


def test_a_second_sigterm_stops_at_once_and_leaves_nothing_partial(tmp_path):
    manifest, out = write_tiny_shots(tmp_path, SHOTS), tmp_path / "out"
    proc = start_gen1("run", manifest, "--output", str(out), log=tmp_path / "job")
    wait_for_reports(out, 1, proc)
    proc.send_signal(signal.SIGTERM)  # what a scheduler sends the driver
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    proc.wait(timeout=120)
    stderr = (tmp_path / "job.err").read_text()
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert time.monotonic() - stopped < 60  # Ray's shutdown, not the shots in flight
    assert "interrupted (SIGTERM): stopping now" in stderr and "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["counts"]["failed"] == 0
    assert summary["counts"]["succeeded"] <= len(committed(out)) < SHOTS
    assert leftovers(out) == []


def test_the_first_signal_asks_to_stop_and_the_second_stops_now():
    said = []
    before = signal.getsignal(signal.SIGINT)  # Python's handler, or SIG_IGN when started in the background
    with StopSignals(lambda name, first: said.append((name, first))) as signals:
        os.kill(os.getpid(), signal.SIGINT)
        assert signals.requested.wait(5) and said == [("SIGINT", True)]
        with pytest.raises(StopNow):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises in this thread at the next instruction
    assert said == [("SIGINT", True), ("SIGTERM", False)]
    assert signal.getsignal(signal.SIGINT) is before  # the handlers it found are back
