"""The rule that protects sources: no file a job writes or removes is ever one of its sources.

A shot writes only in its own folder, {output}/{shot_id}/: its edit (a movie, or a numbered
sequence whose earlier frames outside the new range it removes), report.json, report.html, the
report's pictures and preview, and a temporary beside each file (it removes leftover ones). The
job writes summary.json, index.html, results.parquet, edited.otio and its lock in {output}/.
`job_collisions` compares all of that with every source (movies, sequence frames, image prompts,
the timeline, the manifest)
before any work: an output folder may hold sources, as long as no name can collide.

Paths are compared normalised: absolute, folders with symlinks resolved (a source file is also
compared where its link points), and case-folded where the output's filesystem ignores case.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from gen1_batch import storage
from gen1_batch.layout import JOB_FILES
from gen1_batch.manifest import Problem
from gen1_batch.media import sequence
from gen1_batch.media.formats import FORMATS, output_name
from gen1_batch.media.preview import ARTIFACT_NAMES
from gen1_batch.report.html import SHOT_PAGE
from gen1_batch.report.schema import REPORT_NAME
from gen1_batch.shot import Shot

SHOT_FILES = (REPORT_NAME, SHOT_PAGE, *ARTIFACT_NAMES)  # and in each shot's folder, besides its edit
FILE, SEQUENCE, TEMPORARIES = "file", "sequence", "temporaries"


@dataclass(frozen=True)
class Names:
    """File names in one folder: one file (`head`), a numbered sequence (`head` digits `tail`), or
    the writer's temporaries."""

    folder: str
    kind: str
    head: str = ""
    tail: str = ""

    def show(self) -> str:
        name = {FILE: self.head, SEQUENCE: f"{self.head}####{self.tail}", TEMPORARIES: ".*.tmp-*"}[self.kind]
        return storage.join(self.folder, name)

    def folded(self) -> Names:
        return Names(self.folder.casefold(), self.kind, self.head.casefold(), self.tail.casefold())


def _digits_apart(short: str, long: str, at_end: bool) -> bool:
    """Whether `long` is `short` with only digits added (after it for heads, before it for tails)."""
    if len(short) > len(long):
        short, long = long, short
    if at_end:
        return long.endswith(short) and re.fullmatch(r"[0-9]*", long[: len(long) - len(short)]) is not None
    return long.startswith(short) and re.fullmatch(r"[0-9]*", long[len(short):]) is not None


def names_overlap(a: Names, b: Names) -> bool:
    """Whether some file name is among both (in the same folder)."""
    if a.kind != FILE and b.kind == FILE:
        a, b = b, a
    if a.kind == FILE:
        if b.kind == FILE:
            return a.head == b.head
        if b.kind == SEQUENCE:
            return re.fullmatch(rf"{re.escape(b.head)}[0-9]+{re.escape(b.tail)}", a.head) is not None
        return storage.TEMPORARY.fullmatch(a.head) is not None
    if a.kind == SEQUENCE and b.kind == SEQUENCE:  # head + digits + tail = head' + digits' + tail'
        return _digits_apart(a.head, b.head, at_end=False) and _digits_apart(a.tail, b.tail, at_end=True)
    return False  # a sequence's names end in an image extension, a temporary's in 8 hex digits


# ------------------------------------------------------------------------------------------ locations


def _resolved(path: str) -> str:
    path = path.removeprefix("file://")
    if storage.is_url(path):
        protocol, _, rest = path.partition("://")
        return f"{protocol}://{posixpath.normpath('/' + rest).lstrip('/')}"
    return os.path.realpath(path)


def _file_names(path: str) -> set[Names]:
    """A file where it is named (its folder resolved) and, for a local symlink, where it points."""
    located = {_resolved(storage.parent(path)) + "/" + storage.basename(path), _resolved(path)}
    return {Names(storage.parent(p), FILE, storage.basename(p)) for p in located}


def source_names(path: str) -> set[Names]:
    """The names a source (a movie, an image or an image sequence) occupies."""
    if sequence.is_sequence(path):
        seq = sequence.parse(path)
        return {Names(_resolved(seq.directory), SEQUENCE, seq.head, seq.tail)}
    return _file_names(path)


def shot_writes(output: str, shot_id: str, output_format: str) -> list[tuple[Names, str]]:
    """Every name a shot writes or removes, with what it is."""
    folder = _resolved(storage.join(output, shot_id))
    f = FORMATS[output_format]
    if f.sequence:
        seq = sequence.output_sequence(folder, shot_id, f.extension)
        edit = Names(folder, SEQUENCE, seq.head, seq.tail)
    else:
        edit = Names(folder, FILE, output_name(shot_id, output_format))
    return [(edit, "the edit"), *((Names(folder, FILE, name), name) for name in SHOT_FILES),
            (Names(folder, TEMPORARIES), "the temporaries")]


def job_writes(output: str) -> list[tuple[Names, str]]:
    root = _resolved(output)
    return [*((Names(root, FILE, name), name) for name in JOB_FILES), (Names(root, TEMPORARIES), "the temporaries")]


def case_insensitive(path: str) -> bool:
    """Whether a local path's filesystem ignores case (macOS, Windows, some shares): the nearest
    existing folder with a letter in its name is found again under its name in the other case."""
    if storage.is_url(path.removeprefix("file://")):
        return False  # object stores are case-sensitive
    folder = os.path.realpath(path.removeprefix("file://"))
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    while folder != os.path.dirname(folder):
        name = os.path.basename(folder)
        if name.swapcase() != name:
            other = os.path.join(os.path.dirname(folder), name.swapcase())
            return os.path.exists(other) and os.path.samefile(other, folder)
        folder = os.path.dirname(folder)
    return sys.platform in ("darwin", "win32")


# ------------------------------------------------------------------------------------------ the checks

Source = tuple[int | None, str | None, str]  # (manifest row, column, path)
Written = tuple[Names, str, str]  # (names, whose, what)


@dataclass(frozen=True)
class Collision:
    source: Source
    written: Names
    whose: str
    what: str

    def problem(self) -> Problem:
        row, column, path = self.source
        return Problem(row, column, f"{path} collides with {self.what} of {self.whose} ({self.written.show()}), "
                                    "which would overwrite or remove it; choose another --output")


def collisions(sources: Iterable[Source], written: Iterable[Written], fold: bool) -> list[Collision]:
    """Every source that some written name could be (one collision each)."""
    def key(names: Names) -> Names:
        return names.folded() if fold else names

    by_folder: dict[str, list[Written]] = {}
    for names, whose, what in written:
        by_folder.setdefault(key(names).folder, []).append((names, whose, what))
    found = []
    for source in sources:
        for names in source_names(source[2]):
            hit = next((Collision(source, w, whose, what) for w, whose, what in by_folder.get(key(names).folder, ())
                        if names_overlap(key(names), key(w))), None)
            if hit:
                found.append(hit)
                break
    return found


def job_collisions(shots: list[Shot], manifest: str, output: str, fold: bool | None = None) -> list[Problem]:
    """Sources of a job (every shot's video and image prompt, and the manifest) that the job would
    overwrite or remove in `output`, as manifest problems; checked for every shot, skipped ones too."""
    written: list[Written] = [(n, "the job", what) for n, what in job_writes(output)]
    for shot in shots:
        written += [(n, f"shot {shot.shot_id}", what) for n, what in shot_writes(output, shot.shot_id,
                                                                                  shot.output_format)]
    sources: list[Source] = [(None, None, storage.absolute(manifest))]
    sources += [(shot.row, column, getattr(shot, column)) for shot in shots for column in ("video", "image_prompt")
                if getattr(shot, column)]
    sources += [(shot.row, "timeline", shot.timeline.rpartition("#")[0]) for shot in shots if shot.timeline]
    fold = case_insensitive(output) if fold is None else fold
    return [c.problem() for c in collisions(sources, written, fold)]


def edit_collisions(sources: Iterable[str], output: str, fold: bool | None = None) -> list[str]:
    """The sources that `gen1 edit` would overwrite with its output file or sequence."""
    target = storage.absolute(output)
    if sequence.is_sequence(target):
        names = source_names(target)
    else:
        names = {Names(_resolved(storage.parent(target)), FILE, storage.basename(target))}
    written = [(n, "gen1 edit", "the output") for n in names]
    fold = case_insensitive(output) if fold is None else fold
    return [c.source[2] for c in collisions([(None, None, storage.absolute(s)) for s in sources], written, fold)]
