from fractions import Fraction

import pytest

from gen1_batch.media.timecode import is_timecode, offset, pack, parse_rate, unpack


def test_offsets_at_film_and_drop_frame_rates():
    assert offset("01:00:00:00", 10, Fraction(24)) == "01:00:00:10"
    assert offset("00:59:59:23", 1, Fraction(24000, 1001)) == "01:00:00:00"
    assert offset("00:00:59;29", 1, Fraction(30000, 1001)) == "00:01:00;02"  # frames 00 and 01 are dropped
    assert offset("00:09:59;29", 1, Fraction(30000, 1001)) == "00:10:00;00"  # except every tenth minute
    assert offset("10:00:00:00", 0, Fraction(25)) == "10:00:00:00"


@pytest.mark.parametrize("timecode", ["01:02:03:04", "23:59:59:23", "00:00:00;02"])
def test_smpte_words_round_trip(timecode):
    assert unpack(pack(timecode)) == timecode
    assert unpack(0xFFFFFFFF) is None


def test_rates_are_exact():
    assert parse_rate("24000/1001") == Fraction(24000, 1001)
    assert parse_rate(23.976) == parse_rate("23.976") == Fraction(24000, 1001)
    assert parse_rate(29.97) == Fraction(30000, 1001) and parse_rate(25) == 25 and parse_rate("12.5") == Fraction(25, 2)
    with pytest.raises(ValueError):
        parse_rate(0)
    assert is_timecode("01:00:00:00") and is_timecode("01:00:00;00") and not is_timecode("1:00:00:00")
    assert not is_timecode("01:00:00:00\n") and not is_timecode("\u0660" + "1:00:00:00")
