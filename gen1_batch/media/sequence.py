"""Image sequences: `plate.%04d.exr`, `plate.####.exr` or `plate.1001-1100#.exr`, on any fsspec store.

Padding follows the common conventions: `%04d` and `$F4` give the width; each `#` or `@` in a run
stands for one digit, except that a single `#` alone stands for four (the RV / fileseq habit for
`plate.1001-1100#.exr`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import fileseq

from gen1_batch import storage
from gen1_batch.errors import ShotError
from gen1_batch.media.plates import PLATE_FORMATS

SEQUENCE_FORMATS = PLATE_FORMATS  # each frame read and written by OpenImageIO (media.plates)
_PADDING = re.compile(r"(%0?\d*d|\$F\d*|#+|@+)")


@dataclass(frozen=True)
class Sequence:
    directory: str  # local folder or URL prefix
    head: str  # file name before the frame number
    padding: int  # minimum digits
    tail: str  # after the frame number, extension included
    frames: tuple[int, ...] | None  # the range the pattern names, if it names one

    @property
    def extension(self) -> str:
        return "." + self.tail.rsplit(".", 1)[-1].lower()

    def name(self, frame: int) -> str:
        return f"{self.head}{frame:0{self.padding}d}{self.tail}"

    def path(self, frame: int) -> str:
        return storage.join(self.directory, self.name(frame))

    def pattern(self) -> str:
        return storage.join(self.directory, f"{self.head}{'#' * self.padding}{self.tail}")

    def number_of(self, name: str) -> int | None:
        """The frame number a file name has in this sequence, or None if it is not one of its frames."""
        match = re.fullmatch(rf"{re.escape(self.head)}([0-9]{{{self.padding},}}){re.escape(self.tail)}", name)
        # A number wider than the padding is fine (10000 after 9999); a shorter one must not be zero-padded.
        if match and (len(match.group(1)) == self.padding or not match.group(1).startswith("0")):
            return int(match.group(1))
        return None


def is_sequence(path: str) -> bool:
    name = storage.basename(path)
    return bool(_PADDING.search(name)) and "." + name.rsplit(".", 1)[-1].lower() in SEQUENCE_FORMATS


# One padding token and no frame range: read without fileseq, whose parser takes milliseconds a
# pattern (seconds for a manifest of thousands of shots). The result is the same (see the tests).
_SIMPLE = re.compile(r"(?P<head>[^#@%$]*?)(?:(?P<hashes>#+)|(?P<ats>@+)|%0?(?P<printf>\d*)d|\$F(?P<houdini>\d*))"
                     r"(?P<tail>[^#@%$]*)")


def _simple(name: str) -> tuple[str, int, str] | None:
    match = _SIMPLE.fullmatch(name)
    if not match or match["head"][-1:].isdigit():  # digits before the padding may be a frame range
        return None
    if match["hashes"]:
        width = 4 if match["hashes"] == "#" else len(match["hashes"])
    elif match["ats"]:
        width = len(match["ats"])
    else:
        width = int(match["printf"] or match["houdini"] or 1)
    return match["head"], width, match["tail"]


def parse(path: str) -> Sequence:
    name = storage.basename(path)
    directory = storage.parent(path) if storage.is_url(path) or "/" in path else "."
    simple = _simple(name)
    if simple:
        return Sequence(directory, *simple, None)
    try:
        parsed = fileseq.FileSequence(name, pad_style=fileseq.PAD_STYLE_HASH1)
    except fileseq.ParseException as e:
        raise ShotError(f"{path}: not an image sequence pattern ({e})") from None
    pad = parsed.padding()
    width = 4 if pad == "#" else fileseq.FileSequence.getPaddingNum(pad, pad_style=fileseq.PAD_STYLE_HASH1)
    frames = tuple(parsed.frameSet()) if parsed.frameSet() is not None else None
    return Sequence(directory, parsed.basename(), width, parsed.extension(), frames)


def frames_on_disk(sequence: Sequence) -> list[int]:
    """The frame numbers whose files exist, in order (one listing of the folder)."""
    fs, folder = storage.filesystem(sequence.directory)
    try:
        with storage.explained(sequence.directory):
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)]
    except FileNotFoundError:
        return []
    return sorted(n for n in map(sequence.number_of, names) if n is not None)


def frame_range(sequence: Sequence, frame_start: int | None, frame_end: int | None,
                allow_missing: bool = False) -> list[int]:
    """The frame numbers of a shot: the asked range, every one present (unless `allow_missing`:
    then a missing one is a damaged frame), or a ShotError naming the first missing file."""
    available = list(sequence.frames) if sequence.frames else frames_on_disk(sequence)
    if not available:
        raise ShotError(f"{sequence.pattern()}: no frames found")
    first = available[0] if frame_start is None else frame_start
    last = available[-1] if frame_end is None else frame_end
    if first < available[0] or last > available[-1]:
        raise ShotError(f"{sequence.pattern()}: frames {first}-{last} are outside the sequence "
                        f"({available[0]}-{available[-1]})")
    if not allow_missing:
        present = set(frames_on_disk(sequence)) if sequence.frames else set(available)
        for frame in range(first, last + 1):
            if frame not in present:
                raise ShotError(f"{sequence.path(frame)}: frame {frame} is missing from the sequence")
    return list(range(first, last + 1))


def output_sequence(directory: str, shot_id: str, extension: str, padding: int = 4) -> Sequence:
    return Sequence(directory, f"{shot_id}.", padding, extension, None)
