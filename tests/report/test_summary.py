"""summary.json, results.parquet and reading reports back."""

import datetime as dt
import json

from gen1_batch import storage
from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.model.loading import describe_model
from gen1_batch.report.html import index_row
from gen1_batch.report.schema import report_url, shot_report
from gen1_batch.report.summary import collect_reports, compact_report, result_row, write_index, write_summary
from tests.helpers import write_manifest


def test_the_summary_lists_the_notes_of_shots_that_succeeded_unusually(tmp_path):
    notes = ["variable frame rate (frames last 41.7 to 125.0 ms): the output kept the source's timestamps"]
    reports = [({"shot_id": "a", "status": "succeeded", "notes": notes}, True),
               ({"shot_id": "b", "status": "succeeded", "notes": []}, True)]
    summary = write_summary(str(tmp_path), "m.jsonl", {}, reports, dt.datetime.now(dt.UTC), 1.0)
    assert summary["notes"] == [{"shot_id": "a", "note": notes[0]}]
    assert json.loads((tmp_path / "summary.json").read_text())["notes"] == summary["notes"]


def test_the_driver_keeps_a_small_report_that_summarises_like_the_whole_one(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "sh1", "video": "a.mp4", "prompt": "a long prompt " * 20,
                                                 "negative_prompt": "blur", "steps": 30}])
    (shot,) = load_manifest(url)
    job = JobConfig(manifest=url, output=str(tmp_path / "out"), model=describe_model("tiny"))
    report = shot_report(
        shot=shot, job=job, error=None,
        video={"url": str(tmp_path / "a.mp4"), "kind": "movie", "codec": "h264", "frames": 48, "frame_start": 0,
               "frame_end": 47, "fps": "24000/1001", "width": 1920, "height": 1080, "pix_fmt": "yuv420p",
               "bit_depth": 8, "float_pixels": False, "timecode": "01:00:00:00", "damaged_frames": [3]},
        output={"url": str(tmp_path / "out/sh1/sh1.mp4"), "bytes": 12345, "frames": 48},
        seconds={"decode": 1.0, "depth": 2.0, "diffusion": 30.0, "write": 1.5},
        fingerprints={part: "ab" * 32 for part in ("vae", "unet", "depth_estimator", "image_encoder", "prior")},
        sampling={"windows": [[i, i + 8] for i in range(0, 40, 4)], "steps": 30, "window_shift": True},
        metrics={"frame_consistency": 0.93, "prompt_consistency": 0.31, "structure_error": 0.05},
        artifacts={"thumbnail": "thumb.jpg", "contact_sheet": "sheet.jpg", "preview": "preview.mp4"},
        timeline={"decode": 1.0, "write": 40.0},
    )
    compact = compact_report(report)
    assert result_row(compact, ran=True) == result_row(report, ran=True)
    assert index_row(compact) == index_row(report)
    assert len(json.dumps(compact)) < len(json.dumps(report)) / 2


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
