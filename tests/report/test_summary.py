"""Reading a job's reports back: a report.json that is not a shot report is named, never fatal."""

import json

from gen1_batch import storage
from gen1_batch.report.schema import report_url
from gen1_batch.report.summary import collect_reports, write_index


def test_reports_that_are_not_shot_reports_are_named_and_the_others_listed(tmp_path):
    out = str(tmp_path / "out")
    storage.write_json_atomic(report_url(out, "good"), {"shot_id": "good", "status": "succeeded"})
    contents = {"nostatus": {"shot_id": "nostatus"}, "list": [1, 2], "odd": {"shot_id": "odd", "status": "done"},
                "input": {"shot_id": "input", "status": "failed", "input": [24]}}
    for folder, content in contents.items():
        storage.write_json_atomic(report_url(out, folder), content)
    storage.write_bytes_atomic(report_url(out, "half"), b'{"shot_id": "ha')
    (tmp_path / "out" / "running").mkdir()  # a shot not finished yet: no report, nothing to say

    reports, problems = collect_reports(out)
    assert [r["shot_id"] for r in reports] == ["good"]
    assert problems[0].startswith(f"{report_url(out, 'half')}: not valid JSON (Unterminated string")
    assert problems[1:] == [f"{report_url(out, 'input')}: not a shot report (input not an object)",
                            f"{report_url(out, 'list')}: not a shot report (not a JSON object but list)",
                            f"{report_url(out, 'nostatus')}: not a shot report (no status)",
                            f"{report_url(out, 'odd')}: not a shot report (status is 'done', not succeeded or "
                            "failed)"]
    page = (tmp_path / "out" / "index.html")
    write_index(out, reports)
    data = page.read_text().split('<script type="application/json" id="shots">')[1].split("</script>")[0]
    assert [row["shot"] for row in json.loads(data)] == ["good"]
