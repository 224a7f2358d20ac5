import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gen1_batch.config import JobConfig
from gen1_batch.media.reader import MediaError
from gen1_batch.model.loading import describe_model
from gen1_batch.report.schema import FAILED, SUCCEEDED
from gen1_batch.stages.io import decode, write_shot
from gen1_batch.stages.row import ShotRow, batch_of, rows_of, shot_columns
from gen1_batch.stages.spec import STAGES


@pytest.fixture
def job(tmp_path):
    return JobConfig(manifest="m.jsonl", output=str(tmp_path / "out"), model=describe_model("tiny"))


@pytest.fixture
def decoded(make_shot, job):
    """decoded(**columns) -> the ShotRow that decode makes of the shot of a manifest row."""

    def run(**columns) -> ShotRow:
        (row,) = rows_of(decode(batch_of([shot_columns(make_shot(**columns))]), job=job))
        return row

    return run


def test_decode_gives_working_size_frames_and_the_reference(tmp_path, make_clip, decoded):
    make_clip("a.mp4", frames=5, width=128, height=64)
    from PIL import Image

    Image.new("RGB", (30, 20), "red").save(tmp_path / "look.png")
    row = decoded(image_prompt="look.png")
    assert row.status == SUCCEEDED
    assert row.frames.shape == (5, 48, 96, 3)  # about 64×64 pixels, aspect kept, multiple of 16
    assert row.reference.shape == (20, 30, 3)
    assert row.video_info.fps == "24"


def test_an_unreadable_image_prompt_fails_the_shot_at_decode(tmp_path, make_clip, decoded):
    make_clip("a.mp4")
    (tmp_path / "look.png").write_text("not an image")
    row = decoded(image_prompt="look.png")
    assert (row.status, row.error.stage) == (FAILED, "decode")
    assert "look.png: not a readable image" in row.error.message


def test_writing_a_failed_shot_leaves_only_its_report(make_shot, job):
    row = ShotRow(make_shot(video="gone.mp4")).failed("decode", MediaError("gone.mp4: file not found"))
    report = write_shot(row, job)
    assert report["status"] == "failed"
    assert sorted(os.listdir(os.path.join(job.output, "sh1"))) == ["report.html", "report.json"]  # no video
    assert report["error"] == {"stage": "decode", "type": "MediaError", "message": "gone.mp4: file not found"}
    assert list(report["seconds"]) == [*STAGES, "total"] and set(report["timeline"]) == {"write"}


def test_an_encoding_error_leaves_no_video_at_the_final_path(make_clip, decoded, job):
    make_clip("a.mp4", frames=4)
    row = replace(decoded(), edited=np.zeros((4, 48, 64), np.uint8))  # not RGB: the encoder refuses it
    report = write_shot(row, job)
    assert (report["status"], report["error"]["stage"]) == ("failed", "write")
    assert not [name for name in os.listdir(os.path.join(job.output, "sh1")) if name.endswith(".mp4")]


@pytest.mark.parametrize("output_format, edit_file", [("mp4", "sh1.mp4"), ("png", "sh1.1002.png")])
def test_a_written_shot_records_its_files_and_sources_and_resume_checks_them(tmp_path, make_clip, decoded, job,
                                                                             output_format, edit_file):
    from gen1_batch.fingerprint import source_fingerprint
    from gen1_batch.resume import RUN, SKIP, plan_shots

    make_clip("a.mp4", frames=4)
    row = decoded(frame_start=1, frame_end=3, output_format=output_format)
    row = replace(row, edited=row.frames, depth=np.zeros(row.frames.shape[:3], np.float16))  # as if edited
    report = write_shot(row, job)
    assert report["sources"]["video"]["fingerprint"] == source_fingerprint(str(tmp_path / "a.mp4"))
    folder = os.path.join(job.output, "sh1")
    sizes = {name: os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)}
    frames = [name for name in sizes if name.endswith(".png")]  # the edit as a sequence: one entry
    expected = {n: size for n, size in sizes.items() if n not in frames and n != "report.json"}
    expected.update({"sh1.####.png": sum(sizes[n] for n in frames)} if frames else {})
    assert {f["name"]: f["bytes"] for f in report["files"]} == expected
    assert [(p.action, p.reason) for p in plan_shots([row.shot], job)] == [(SKIP, "done")]
    os.remove(os.path.join(folder, edit_file))
    assert [(p.action, p.reason) for p in plan_shots([row.shot], job)] == [(RUN, f"output missing: sh1/{edit_file}")]


def test_replaced_frames_are_listed_in_the_report_and_on_the_shot_page(tmp_path, decoded, job):
    from gen1_batch.media.synthetic import synthetic_frames
    from tests.helpers import damage_packets, encode_movie

    clean = encode_movie(str(tmp_path / "clean.avi"), synthetic_frames(6, 64, 48), "mjpeg", "yuvj420p")
    damage_packets(clean, str(tmp_path / "a.avi"), {2})
    row = decoded(video="a.avi", damaged_frames="nearest")
    assert row.status == SUCCEEDED and row.frames.shape[0] == 6
    row = replace(row, edited=row.frames, depth=np.zeros(row.frames.shape[:3], np.float16))  # stand-ins
    report = write_shot(row, job)
    assert (report["status"], report["input"]["damaged_frames"], report["output"]["frames"]) == ("succeeded", [2], 6)
    assert report["notes"] == ["damaged source frame 2: replaced with the nearest good frame"]
    page = Path(job.output, "sh1", "report.html").read_text()
    assert "<p class='warn'>damaged source frame 2: replaced with the nearest good frame</p>" in page


def test_a_variable_frame_rate_source_for_a_sequence_fails_at_decode_unless_retiming_is_accepted(tmp_path, decoded):
    from gen1_batch.media.synthetic import synthetic_frames
    from tests.helpers import encode_movie

    encode_movie(str(tmp_path / "vfr.mp4"), synthetic_frames(4, 64, 48), "libx264", "yuv420p", pts=[0, 1, 4, 5])
    row = decoded(video="vfr.mp4", output_format="png")
    assert (row.status, row.error.stage) == (FAILED, "decode")
    assert "variable frame rate" in row.error.message and "--retime" in row.error.message
    assert decoded(video="vfr.mp4", output_format="png", retime=True).status == SUCCEEDED


def test_a_source_that_cannot_be_reached_or_decoded_fails_its_shot_with_one_line_naming_it(tmp_path, make_clip,
                                                                                           decoded):
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
        row = decoded(**columns)
        assert (row.status, row.error.stage) == (FAILED, "decode")
        message = row.error.message
        assert name in message and reason in message and "\n" not in message and "(at " not in message, message
