import json
import os
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from gen1_batch import storage
from gen1_batch.cli import app
from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.media import write_video
from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.loading import describe_model
from gen1_batch.report.schema import report_url
from gen1_batch.resume import RUN, SKIP, plan_shots
from tests.helpers import write_finished_shot, write_manifest


@pytest.fixture
def setup(tmp_path, make_clip):
    make_clip("v.mp4", frames=4)
    rows = [{"shot_id": f"s{i}", "video": "v.mp4", "prompt": "p"} for i in range(5)]
    shots = load_manifest(write_manifest(tmp_path / "m.jsonl", rows))
    job = JobConfig(manifest="m", output=str(tmp_path / "out"), model=describe_model("tiny"))

    def report(shot, status="succeeded", params_hash=None, key=None):
        storage.write_json_atomic(report_url(job.output, shot.shot_id), {
            "shot_id": shot.shot_id, "status": status, "params_hash": params_hash or shot.params_hash(),
            "model": {"key": key or job.model.key}})

    write_finished_shot(job.output, shots[0])
    report(shots[1], status="failed")
    report(shots[2], params_hash="changed")
    report(shots[3], key="another-model")
    storage.write_bytes_atomic(report_url(job.output, "s4"), b"{half a report")  # unreadable: redo
    return shots, job


def decisions(planned):
    return [(p.action, p.reason) for p in planned]


def test_only_shots_done_with_the_same_parameters_and_model_are_skipped(setup):
    shots, job = setup
    assert decisions(plan_shots(shots, job)) == [
        (SKIP, "done"), (RUN, "failed before"), (RUN, "parameters changed"), (RUN, "model changed"), (RUN, "new")]


def test_a_shot_done_with_another_max_batch_runs_again_saying_why(setup):
    shots, job = setup
    other = JobConfig(manifest="m", output=job.output, model=job.model, max_batch=job.clips_per_call + 1)
    assert decisions(plan_shots(shots[:1], other)) == [(RUN, "--max-batch changed (the edit's last bits depend on it)")]
    assert decisions(plan_shots(shots[:1], job)) == [(SKIP, "done")]


def test_a_shot_done_through_another_ocio_config_runs_again_saying_why(setup):
    shots, job = setup
    other = JobConfig(manifest="m", output=job.output, model=job.model, ocio="ocio://cg-config-latest")
    why = "OCIO config changed (frames reach the models through it)"
    assert decisions(plan_shots(shots[:1], other)) == [(RUN, why)]
    assert decisions(plan_shots(shots[:1], job)) == [(SKIP, "done")]


def test_force_redoes_everything_and_only_failed_only_the_failed(setup):
    shots, job = setup
    assert {a for a, _ in decisions(plan_shots(shots, job, force=True))} == {RUN}
    assert [a for a, _ in decisions(plan_shots(shots, job, only_failed=True))] == [SKIP, RUN, SKIP, SKIP, SKIP]
    with pytest.raises(ValueError):
        plan_shots(shots, job, force=True, only_failed=True)


# ------------------------------------------------------------------------------- a report is not enough


def finished(tmp_path: Path, **row):
    """A shot that a run finished, and its job."""
    (shot,) = load_manifest(write_manifest(tmp_path / "m.jsonl", [{"shot_id": "sh", "prompt": "p", **row}]))
    job = JobConfig(manifest="m", output=str(tmp_path / "out"), model=describe_model("tiny"))
    write_finished_shot(job.output, shot)
    assert decisions(plan_shots([shot], job)) == [(SKIP, "done")]
    return shot, job


def replace_keeping_size_and_time(path: Path, data: bytes) -> None:
    """Replace a file's content with other bytes of the same length and the same modification time."""
    stat = path.stat()
    assert len(data) == stat.st_size
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_source_replaced_at_the_same_path_runs_again_even_with_the_same_size_and_time(tmp_path, make_clip):
    clip = Path(make_clip("a.mp4", frames=4))
    shot, job = finished(tmp_path, video="a.mp4")
    data = bytearray(clip.read_bytes())
    data[-100:] = bytes(100)  # the last bytes differ, nothing else
    replace_keeping_size_and_time(clip, bytes(data))
    assert decisions(plan_shots([shot], job)) == [(RUN, f"source changed: {clip}")]


def test_a_replaced_image_prompt_runs_again(tmp_path, make_clip):
    make_clip("a.mp4", frames=4)
    Image.new("RGB", (8, 8), "red").save(tmp_path / "look.png")
    shot, job = finished(tmp_path, video="a.mp4", image_prompt="look.png")
    Image.new("RGB", (8, 9), "blue").save(tmp_path / "look.png")
    assert decisions(plan_shots([shot], job)) == [(RUN, f"image prompt changed: {tmp_path / 'look.png'}")]


def test_a_sequence_source_counts_the_frames_of_its_range_only(tmp_path):
    write_video(synthetic_frames(6, 32, 16), str(tmp_path / "plate.####.png"), 24, "png")  # 1001-1006
    shot, job = finished(tmp_path, video="plate.####.png", frame_start=1002, frame_end=1004, output_format="mp4")
    replace_keeping_size_and_time(tmp_path / "plate.1006.png", bytes((tmp_path / "plate.1006.png").stat().st_size))
    assert decisions(plan_shots([shot], job)) == [(SKIP, "done")]  # outside the range
    (tmp_path / "plate.1003.png").write_bytes((tmp_path / "plate.1001.png").read_bytes())  # inside it
    assert decisions(plan_shots([shot], job)) == [(RUN, f"source changed: {tmp_path / 'plate.####.png'}")]


def test_an_open_range_sequence_that_grew_runs_again(tmp_path):
    write_video(synthetic_frames(3, 32, 16), str(tmp_path / "plate.####.png"), 24, "png")
    shot, job = finished(tmp_path, video="plate.####.png")
    write_video(synthetic_frames(1, 32, 16), str(tmp_path / "plate.####.png"), 24, "png", first_frame=1004)
    assert decisions(plan_shots([shot], job))[0][1].startswith("source changed")


def test_a_shot_whose_output_was_deleted_or_changed_runs_again(tmp_path, make_clip):
    make_clip("a.mp4", frames=4)
    shot, job = finished(tmp_path, video="a.mp4")
    edit = Path(job.output) / "sh" / "sh.mp4"
    edit.write_bytes(b"cut")
    assert decisions(plan_shots([shot], job)) == [
        (RUN, f"output changed: sh/sh.mp4 (3 bytes, its report says {len(b'an edit')})")]
    edit.unlink()
    assert decisions(plan_shots([shot], job)) == [(RUN, "output missing: sh/sh.mp4")]


def test_a_report_without_fingerprints_from_an_older_gen1_is_not_trusted(tmp_path, make_clip):
    make_clip("a.mp4", frames=4)
    shot, job = finished(tmp_path, video="a.mp4")
    report = storage.read_json(report_url(job.output, "sh"))
    del report["sources"]
    storage.write_json_atomic(report_url(job.output, "sh"), report)
    ((action, reason),) = decisions(plan_shots([shot], job))
    assert action == RUN and "no source fingerprint" in reason


def test_resume_checks_work_on_object_stores(tmp_path):
    write_video(synthetic_frames(3, 32, 16), "memory://studio/clips/a.mp4", 24)
    rows = [{"shot_id": "sh", "video": "memory://studio/clips/a.mp4", "prompt": "p"}]
    (shot,) = load_manifest(write_manifest(tmp_path / "m.jsonl", rows))
    job = JobConfig(manifest="m", output="memory://studio/out", model=describe_model("tiny"))
    write_finished_shot(job.output, shot)
    assert decisions(plan_shots([shot], job)) == [(SKIP, "done")]
    write_video(synthetic_frames(3, 32, 16, seed=5), "memory://studio/clips/a.mp4", 24)
    assert decisions(plan_shots([shot], job)) == [(RUN, "source changed: memory://studio/clips/a.mp4")]


def test_the_dry_run_plan_says_why_a_shot_runs_again(tmp_path, make_clip):
    make_clip("a.mp4", frames=4)
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p", "steps": 4}])
    (shot,) = load_manifest(url)
    out = tmp_path / "out"
    write_finished_shot(str(out), shot)
    (out / "a" / "a.mp4").unlink()
    result = CliRunner().invoke(app, ["run", url, "--output", str(out), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["shots"]
    assert (row["action"], row["reason"]) == ("run", "output missing: a/a.mp4")
