import datetime as dt
import json

from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.model.loading import describe_model
from gen1_batch.report.html import index_row
from gen1_batch.report.schema import shot_report
from gen1_batch.report.summary import compact_report, result_row, write_summary
from tests.helpers import write_manifest


def test_the_summary_lists_the_notes_of_shots_that_succeeded_unusually(tmp_path):
    notes = ["variable frame rate (frames last 41.7 to 125.0 ms): the output kept the source's timestamps"]
    reports = [({"shot_id": "a", "status": "succeeded", "notes": notes}, True),
               ({"shot_id": "b", "status": "succeeded", "notes": []}, True)]
    summary = write_summary(str(tmp_path), "m.jsonl", {}, reports, dt.datetime.now(dt.timezone.utc), 1.0)
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
