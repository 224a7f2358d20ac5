import datetime as dt
import json

from gen1_batch.report.summary import write_summary


def test_the_summary_lists_the_notes_of_shots_that_succeeded_unusually(tmp_path):
    notes = ["variable frame rate (frames last 41.7 to 125.0 ms): the output kept the source's timestamps"]
    reports = [({"shot_id": "a", "status": "succeeded", "notes": notes}, True),
               ({"shot_id": "b", "status": "succeeded", "notes": []}, True)]
    summary = write_summary(str(tmp_path), "m.jsonl", {}, reports, dt.datetime.now(dt.timezone.utc), 1.0)
    assert summary["notes"] == [{"shot_id": "a", "note": notes[0]}]
    assert json.loads((tmp_path / "summary.json").read_text())["notes"] == summary["notes"]
