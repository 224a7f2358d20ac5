"""The row contract: typed values in the stages, one column layout for failed and good shots, and a
shot's exception turned into a failed row that flows on."""

from dataclasses import fields, replace
from fractions import Fraction

import numpy as np
import pytest

from gen1_batch.errors import ShotError
from gen1_batch.media.reader import VideoInfo
from gen1_batch.report.schema import FAILED, SUCCEEDED
from gen1_batch.stages.row import ShotRow, StageError, batch_of, rows_of, run_stage
from gen1_batch.stages.spec import STAGES


@pytest.fixture
def batch(make_shot):
    def make(*shot_ids):
        rows = [replace(ShotRow(make_shot(s)), frames=np.ones((2, 4, 4, 3), np.uint8)) for s in shot_ids]
        return batch_of([row.to_columns() for row in rows])

    return make


def test_a_shot_that_raises_becomes_a_failed_row_and_the_others_go_on(batch):
    def process(row):
        if row.shot.shot_id == "bad":
            raise ShotError("clip.mp4: frame 3 cannot be decoded")
        return replace(row, depth=np.ones((2, 4, 4), np.float32))

    good, bad = rows_of(run_stage("content", batch("good", "bad"), process))
    assert good.status == SUCCEEDED and good.depth.shape == (2, 4, 4) and good.seconds["content"] > 0
    assert "content" in good.timeline
    assert (bad.status, bad.error.stage, bad.error.type) == (FAILED, "content", "ShotError")
    assert bad.error.message == "clip.mp4: frame 3 cannot be decoded"
    assert bad.frames.size == 0 and "content" in bad.timeline  # its arrays are freed; its time is kept


def test_a_result_that_cannot_be_stored_fails_its_shot_not_the_batch(batch):
    def process(row):
        return replace(row, metrics={"frame_consistency": object()} if row.shot.shot_id == "bad" else {"x": 1.0})

    good, bad = rows_of(run_stage("metrics", batch("good", "bad"), process))
    assert good.status == SUCCEEDED and good.metrics == {"x": 1.0}
    assert (bad.status, bad.error.stage, bad.error.type, bad.metrics) == (FAILED, "metrics", "TypeError", None)


def test_a_failed_row_passes_later_stages_untouched(batch):
    (row,) = rows_of(batch("x"))
    failed = row.failed("decode", ShotError("gone.mp4: file not found"))

    def process(row):
        raise AssertionError("a failed shot must not be processed again")

    (after,) = rows_of(run_stage("depth", batch_of([failed.to_columns()]), process))
    assert (after.status, after.error, after.seconds["depth"]) == (FAILED, failed.error, 0.0)
    assert after.error.message == "gone.mp4: file not found"


def test_a_bug_in_a_stage_says_where_in_the_code_it_is(batch):
    def process(row):
        return {}["missing"]

    (row,) = rows_of(run_stage("depth", batch("x"), process))
    assert row.error.type == "KeyError" and "(at test_row.py:" in row.error.message


def test_failed_and_good_rows_have_the_same_columns_of_the_same_kinds(make_shot):
    good = replace(ShotRow(make_shot()), frames=np.ones((3, 8, 8, 3), np.uint8),
                   depth=np.ones((3, 8, 8), np.float16), conditioning={"image": np.ones(4, np.float32)},
                   edited=np.ones((3, 8, 8, 3), np.uint8), metrics={"frame_consistency": 0.9})
    failed = good.failed("diffusion", ValueError("x")).without_arrays()

    def kinds(columns):
        return {k: np.ndim(v) if isinstance(v, np.ndarray) else type(v).__name__ for k, v in columns.items()}

    assert kinds(good.to_columns()) == kinds(failed.to_columns())
    assert [f"seconds_{s}" for s in STAGES] == [k for k in good.to_columns() if k.startswith("seconds_")]
    assert (good.to_columns()["status"], failed.to_columns()["status"]) == ("succeeded", "failed")  # the reports' words


def test_every_value_comes_back_typed_from_the_columns(make_shot):
    info = VideoInfo(url="a.mp4", kind="movie", codec="h264", width=64, height=48, fps="24000/1001", frame_start=0,
                     frame_end=9, frames=10, pix_fmt="yuv420p", bit_depth=8, float_pixels=False, timecode=None,
                     damaged_frames=[3])
    row = ShotRow(
        shot=make_shot(), error=StageError("metrics", "ValueError", "x"), video_info=info,
        sources={"video": {"url": "a.mp4", "fingerprint": {"size": 3}}}, fingerprints={"vae": "ab"},
        sampling={"unet_forwards": 4}, metrics={"frame_consistency": 0.5, "prompt_consistency": None},
        frames=np.ones((2, 4, 4, 3), np.uint8), reference=np.ones((3, 3, 3), np.uint8),
        depth=np.ones((2, 4, 4), np.float32), conditioning={"text": np.ones((2, 3), np.float32)},
        edited=np.zeros((2, 4, 4, 3), np.uint8),
    ).finished("decode", 0.25)
    (back,) = rows_of(batch_of([row.to_columns()]))
    for f in fields(ShotRow):  # a new field that Ray Data's columns do not carry fails here
        value, came_back = getattr(row, f.name), getattr(back, f.name)
        if f.name == "conditioning":
            assert value.keys() == came_back.keys() and all(np.array_equal(value[k], came_back[k]) for k in value)
        elif isinstance(value, np.ndarray):
            assert came_back.dtype == value.dtype and np.array_equal(came_back, value), f.name
        else:
            assert came_back == value, f.name
    assert isinstance(back.video_info, VideoInfo) and back.video_info.rate == Fraction(24000, 1001)


def test_shots_of_different_sizes_share_a_batch(batch):
    rows = rows_of(batch("a", "b"))
    rows[1] = replace(rows[1], frames=np.ones((5, 2, 2, 3), np.uint8))
    back = rows_of(batch_of([r.to_columns() for r in rows]))
    assert [r.frames.shape for r in back] == [(2, 4, 4, 3), (5, 2, 2, 3)]
