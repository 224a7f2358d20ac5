import numpy as np
import pytest

from gen1_batch.media.damage import describe, fill, nearest


def test_frame_lists_collapse_runs():
    assert describe([7]) == "frame 7"
    assert describe([9, 3, 4, 5, 11]) == "frames 3-5, 9, 11"


def test_the_nearest_good_frame_is_the_closer_one_and_the_earlier_on_a_tie():
    assert [nearest(n, [2, 6]) for n in (0, 3, 4, 5, 9)] == [2, 2, 2, 6, 6]


@pytest.mark.parametrize("mode, expected", [("nearest", [10, 10, 12, 12]), ("black", [10, 0, 12, 0])])
def test_fill_replaces_only_the_damaged_frames(mode, expected):
    frames = {n: np.full((2, 2, 3), n, np.uint8) for n in (10, 12)}
    out, damaged = fill(range(10, 14), frames, mode)
    assert damaged == [11, 13] and [int(f[0, 0, 0]) for f in out] == expected


def test_fill_refuses_to_hide_damage_in_fail_mode():
    with pytest.raises(ValueError):
        fill(range(2), {0: np.zeros((1, 1, 3), np.uint8)}, "fail")
