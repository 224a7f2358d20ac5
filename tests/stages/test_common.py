import json

import numpy as np

from gen1_batch.errors import ShotError
from gen1_batch.stages.common import FAILED, OK, batch_of, describe_error, initial_row, rows_of, run_stage


def batch(*shot_ids):
    rows = [initial_row(json.dumps({"shot_id": s}), s) for s in shot_ids]
    for r in rows:
        r["frames"] = np.ones((2, 4, 4, 3), np.uint8)
    return batch_of(rows)


def test_a_shot_that_raises_becomes_a_failed_row_and_the_others_go_on():
    def process(row):
        if row["shot_id"] == "bad":
            raise ShotError("clip.mp4: frame 3 cannot be decoded")
        return {"depth": np.ones((2, 4, 4), np.float32)}

    good, bad = rows_of(run_stage("content", batch("good", "bad"), process))
    assert good["status"] == OK and good["depth"].shape == (2, 4, 4) and good["seconds_content"] > 0
    assert (bad["status"], bad["error_stage"], bad["error_type"]) == (FAILED, "content", "ShotError")
    assert bad["error_message"] == "clip.mp4: frame 3 cannot be decoded"
    assert bad["frames"].size == 0  # its arrays are freed, and it keeps every column


def test_a_failed_row_passes_later_stages_untouched():
    failed = rows_of(batch("x"))[0]
    failed.update(status=FAILED, error_stage="decode", error_type="MediaError", error_message="m")

    def process(row):
        raise AssertionError("a failed shot must not be processed again")

    (row,) = rows_of(run_stage("depth", batch_of([failed]), process))
    assert (row["status"], row["error_stage"], row["seconds_depth"]) == (FAILED, "decode", 0.0)


def test_bugs_say_where_and_input_errors_do_not():
    try:
        {}["missing"]
    except KeyError as e:
        assert "(at test_common.py:" in describe_error(e)
    assert describe_error(ShotError("a.mp4: empty file")) == "a.mp4: empty file"


def test_named_arrays_pack_into_one_column_and_back():
    from gen1_batch.stages.common import pack_arrays, unpack_arrays

    arrays = {"text": np.ones((77, 8), np.float32), "image": np.arange(4, dtype=np.float16)}
    back = unpack_arrays(pack_arrays(arrays))
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert back["image"].dtype == np.float16


def test_shots_of_different_sizes_share_a_batch():
    rows = rows_of(batch("a", "b"))
    rows[1]["frames"] = np.ones((5, 2, 2, 3), np.uint8)
    back = rows_of(batch_of(rows))
    assert [r["frames"].shape for r in back] == [(2, 4, 4, 3), (5, 2, 2, 3)]
