from gen1_batch import storage
from gen1_batch.report.schema import read_report, report_url


def test_a_report_that_is_not_a_shot_report_counts_as_none_so_the_shot_runs_again(tmp_path):
    out = str(tmp_path)
    storage.write_json_atomic(report_url(out, "a"), {"shot_id": "a", "params_hash": "x"})  # no status
    storage.write_json_atomic(report_url(out, "b"), {"shot_id": "b", "status": "succeeded", "seconds": 3})
    storage.write_json_atomic(report_url(out, "c"), {"shot_id": "c", "status": "failed"})
    assert read_report(out, "a") is None and read_report(out, "b") is None
    assert read_report(out, "c") == {"shot_id": "c", "status": "failed"}
