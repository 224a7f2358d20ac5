import json
import os

import numpy as np
import pytest

from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.model.loading import describe_model
from gen1_batch.stages.common import FAILED, OK, batch_of, initial_row, rows_of
from gen1_batch.stages.io import decode, write_shot
from tests.helpers import write_manifest


@pytest.fixture
def job(tmp_path):
    return JobConfig(manifest="m.jsonl", output=str(tmp_path / "out"), model=describe_model("tiny"))


def shot_row(tmp_path, **columns):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "sh1", "prompt": "p", **columns}])
    shot = load_manifest(url, size_multiple=16)[0]
    return initial_row(shot.to_json(), shot.shot_id)


def test_decode_gives_working_size_frames_and_the_reference(tmp_path, make_clip, job):
    make_clip("a.mp4", frames=5, width=128, height=64)
    from PIL import Image

    Image.new("RGB", (30, 20), "red").save(tmp_path / "look.png")
    (row,) = rows_of(decode(batch_of([shot_row(tmp_path, video="a.mp4", image_prompt="look.png")]), job=job))
    assert row["status"] == OK
    assert row["frames"].shape == (5, 48, 96, 3)  # about 64×64 pixels, aspect kept, multiple of 16
    assert row["reference"].shape == (20, 30, 3)
    assert json.loads(row["video_info"])["fps"] == "24"


def test_an_unreadable_image_prompt_fails_the_shot_at_decode(tmp_path, make_clip, job):
    make_clip("a.mp4")
    (tmp_path / "look.png").write_text("not an image")
    (row,) = rows_of(decode(batch_of([shot_row(tmp_path, video="a.mp4", image_prompt="look.png")]), job=job))
    assert (row["status"], row["error_stage"]) == (FAILED, "decode")
    assert "look.png: not a readable image" in row["error_message"]


def test_writing_a_failed_shot_leaves_only_its_report(tmp_path, job):
    row = shot_row(tmp_path, video="gone.mp4")
    row.update(status=FAILED, error_stage="decode", error_type="MediaError", error_message="gone.mp4: file not found")
    result = write_shot(row, job)
    assert result["status"] == "failed"
    assert sorted(os.listdir(os.path.join(job.output, "sh1"))) == ["report.html", "report.json"]  # no video
    report = json.loads(result["report"])
    assert report["error"] == {"stage": "decode", "type": "MediaError", "message": "gone.mp4: file not found"}


def test_an_encoding_error_leaves_no_video_at_the_final_path(tmp_path, make_clip, job):
    make_clip("a.mp4", frames=4)
    (row,) = rows_of(decode(batch_of([shot_row(tmp_path, video="a.mp4")]), job=job))
    row["edited"] = np.zeros((4, 48, 64), np.uint8)  # not RGB: the encoder refuses it
    result = write_shot(row, job)
    report = json.loads(result["report"])
    assert (report["status"], report["error"]["stage"]) == ("failed", "write")
    assert not [name for name in os.listdir(os.path.join(job.output, "sh1")) if name.endswith(".mp4")]


def test_a_source_that_cannot_be_reached_or_decoded_fails_its_shot_with_one_line_naming_it(tmp_path, make_clip, job):
    from tests.helpers import bomb_png, closed_port

    make_clip("a.mp4", frames=3)
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    (tmp_path / "plate").mkdir()
    for number in (1001, 1002):
        (tmp_path / "plate" / f"plate.{number}.png").write_bytes(bomb_png())
    refused = f"http://127.0.0.1:{closed_port()}/a.mp4"
    cases = {
        refused: ({"video": refused}, "cannot connect to 127.0.0.1"),
        "nosuch://b/a.mp4": ({"video": "nosuch://b/a.mp4"}, "unknown storage scheme nosuch://"),
        "bomb.png": ({"video": "a.mp4", "image_prompt": "bomb.png"}, "image too large to decode safely"),
        "plate.1001.png": ({"video": "plate/plate.####.png"}, "frame 1001 cannot be decoded"),
    }
    for name, (columns, reason) in cases.items():
        (row,) = rows_of(decode(batch_of([shot_row(tmp_path, **columns)]), job=job))
        assert (row["status"], row["error_stage"]) == (FAILED, "decode")
        message = str(row["error_message"])
        assert name in message and reason in message and "\n" not in message and "(at " not in message, message
