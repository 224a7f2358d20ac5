import pytest

from gen1_batch import storage
from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.model.loading import describe_model
from gen1_batch.report.schema import report_url
from gen1_batch.resume import RUN, SKIP, plan_shots
from tests.helpers import write_manifest


@pytest.fixture
def setup(tmp_path):
    rows = [{"shot_id": f"s{i}", "video": "v.mp4", "prompt": "p"} for i in range(5)]
    shots = load_manifest(write_manifest(tmp_path / "m.jsonl", rows))
    job = JobConfig(manifest="m", output=str(tmp_path / "out"), model=describe_model("tiny"))

    def report(shot, status="succeeded", params_hash=None, key=None):
        storage.write_json_atomic(report_url(job.output, shot.shot_id), {
            "shot_id": shot.shot_id, "status": status, "params_hash": params_hash or shot.params_hash(),
            "model": {"key": key or job.model.key}})

    report(shots[0])
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


def test_force_redoes_everything_and_only_failed_only_the_failed(setup):
    shots, job = setup
    assert {a for a, _ in decisions(plan_shots(shots, job, force=True))} == {RUN}
    assert [a for a, _ in decisions(plan_shots(shots, job, only_failed=True))] == [SKIP, RUN, SKIP, SKIP, SKIP]
    with pytest.raises(ValueError):
        plan_shots(shots, job, force=True, only_failed=True)
