"""SMPTE timecode: arithmetic (OpenTimelineIO's, drop-frame included) and the packed binary form
that EXR and DPX headers use (SMPTE 12M BCD)."""

from __future__ import annotations

import re
from fractions import Fraction

import opentimelineio as otio

TIMECODE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}[:;][0-9]{2}")  # matched whole (fullmatch)


def is_timecode(text: str) -> bool:
    return bool(TIMECODE.fullmatch(text))


def offset(timecode: str, frames: int, rate: Fraction) -> str:
    """The timecode `frames` frames after `timecode` at `rate` (drop-frame stays drop-frame)."""
    start = otio.opentime.from_timecode(timecode, float(rate))
    moved = start + otio.opentime.RationalTime(frames, float(rate))
    return otio.opentime.to_timecode(moved, float(rate), ";" in timecode)


def pack(timecode: str) -> int:
    """HH:MM:SS:FF (";" for drop-frame) as a SMPTE 12M time-and-flags word."""
    hours, minutes, seconds, frames = (int(x) for x in re.split("[:;]", timecode))

    def bcd(value: int) -> int:
        return (value // 10) << 4 | value % 10

    word = bcd(frames) | bcd(seconds) << 8 | bcd(minutes) << 16 | bcd(hours) << 24
    if ";" in timecode:
        word |= 1 << 6
    return word


def unpack(word: int) -> str | None:
    """The timecode in a SMPTE 12M word, or None for an unset one (all ones) or an invalid one."""
    if word in (0xFFFFFFFF, 0):
        return None

    def digit(shift: int, tens_bits: int) -> int:
        return ((word >> (shift + 4)) & ((1 << tens_bits) - 1)) * 10 + ((word >> shift) & 0xF)

    frames, seconds, minutes, hours = digit(0, 2), digit(8, 3), digit(16, 3), digit(24, 2)
    if seconds > 59 or minutes > 59 or hours > 23:
        return None
    separator = ";" if word & (1 << 6) else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{frames:02d}"


# Rates cameras and NTSC video really use; a decimal within 0.01 of one of these means it.
_NTSC = {round(n * 1000 / 1001, 3): Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120)}


def parse_rate(value: str | float | int | Fraction) -> Fraction:
    """A frame rate as an exact fraction: "24000/1001", "24", 25 or 23.976 (read as 24000/1001)."""
    if isinstance(value, Fraction):
        rate = value
    elif isinstance(value, str) and "/" in value:
        numerator, _, denominator = value.partition("/")
        rate = Fraction(int(numerator), int(denominator))
    else:
        number = float(value)
        rate = next((r for d, r in _NTSC.items() if abs(number - d) < 0.01), None) or \
            Fraction(number).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"a frame rate must be positive, got {value}")
    return rate
