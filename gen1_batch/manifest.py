"""Manifest v1: one row per shot, as JSONL, CSV or Parquet, at a local path or any fsspec URL.

Reading is strict and reports every problem in one pass, so a TD fixes a manifest once rather
than once per error. What a column may hold and its default are the shot schema's (shot.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gen1_batch import storage
from gen1_batch.model.settings import DEFAULT_SETTINGS
from gen1_batch.shot import COLUMNS, JOB_WIDE, REQUIRED, Shot, check_value, is_missing, job_defaults, resolve

MANIFEST_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest. `row` is the line in a JSONL or CSV file (a CSV header is
    row 1; a CSV row spanning lines, its first), the 1-based row in a Parquet file, or None for the
    whole file."""

    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where) or 'manifest'}: {self.reason}"


class ManifestError(Exception):
    def __init__(self, url: str, problems: list[Problem]):
        self.url = url
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{url}: {len(problems)} problem(s)\n{lines}")


# ---------------------------------------------------------------------------------------------- reading


Rows = list[tuple[int, dict[str, Any]]]  # (row number, column -> value)


def read_rows(url: str) -> tuple[Rows, list[Problem]]:
    """Read raw rows (CSV's empty cells dropped) and the problems of the file itself."""
    suffix = next((s for s in MANIFEST_FORMATS if url.lower().endswith(s)), None)
    if suffix is None:
        return [], [Problem(None, None, f"unknown manifest format; use one of {', '.join(MANIFEST_FORMATS)}")]
    try:
        data = storage.read_bytes(url)
    except FileNotFoundError:
        return [], [Problem(None, None, f"file not found: {url}")]
    except storage.StorageError as e:
        return [], [Problem(None, None, str(e))]
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[MANIFEST_FORMATS[suffix]]
    return reader(data)


def _read_jsonl(data: bytes) -> tuple[Rows, list[Problem]]:
    rows, problems = [], []
    # Lines end at "\n" only: JSON text may hold U+2028 and other characters str.splitlines() breaks at.
    for number, raw_line in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
        line, problem = _decode(raw_line, number)
        if problem:
            problems.append(problem)
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_object_without_repeats)
        except json.JSONDecodeError as e:
            problems.append(Problem(number, None, f"not valid JSON ({e.msg} at character {e.pos + 1})"))
            continue
        except _RepeatedKey as e:
            problems.append(Problem(number, str(e), "given twice in one object (only one value can count)"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(number, None, f"expected a JSON object, got {type(value).__name__}"))
            continue
        rows.append((number, value))
    return rows, problems


class _RepeatedKey(ValueError):
    pass


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise _RepeatedKey(key)
        value[key] = item
    return value


def _decode(data: bytes, first_line: int = 1) -> tuple[str, Problem | None]:
    """UTF-8 text, or the line of the first byte that is not UTF-8 (a prompt must not change silently)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        return "", Problem(line, None, f"not UTF-8 text (byte 0x{data[e.start]:02x}); save the manifest as UTF-8")


def _read_csv(data: bytes) -> tuple[Rows, list[Problem]]:
    text, problem = _decode(data.removeprefix(codecs.BOM_UTF8))
    if problem:
        return [], [problem]
    lines = text.split("\n")  # the physical lines, as the reader counts them
    reader = csv.reader(io.StringIO(text), strict=True)
    header: list[str] | None = None
    rows, problems = [], []
    end = 0  # the last physical line read so far
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num  # a row with a quoted line break spans several lines
            if not cells:
                continue
            if header is None:
                header = cells
                problems += [Problem(start, name, "given twice in the header (only one value can count)")
                             for name in sorted({n for n in header if header.count(n) > 1})]
                continue
            problems += _swallowed_rows(lines, start, end, len(header))
            if len(cells) > len(header):
                problems.append(Problem(start, None, f"{len(cells) - len(header)} more cell(s) than the header "
                                                     f"has columns"))
            rows.append((start, {n: c for n, c in zip(header, cells, strict=False) if c != ""}))  # short: rest empty
    except csv.Error as e:  # what follows cannot be read reliably: stop here
        start, last = end + 1, reader.line_num
        if "unexpected end of data" in str(e):
            spans = f": lines {start}-{last} went into one cell" if last > start else ""
            reason = f"a quote opened in this row is still open at the end of the file{spans}"
        elif last > start:
            reason = f"a quote opened in this row is not closed where it should be: the CSV breaks at line {last} ({e})"
        else:
            reason = f"not valid CSV: {e}"
        problems.append(Problem(start, None, reason))
    return rows, problems


def _swallowed_rows(lines: list[str], start: int, end: int, width: int) -> list[Problem]:
    """A quoted cell may hold line breaks, but one whose lines read as rows of their own is an
    unclosed quote that swallowed them."""
    for number in range(start + 1, end + 1):
        cells = next(csv.reader([lines[number - 1]]), [])
        if len(cells) >= max(2, width):
            return [Problem(start, None, f"a quote opened in this row runs on to line {end}, and line {number} "
                                         "inside it reads as a row of its own: close the quote (a line break "
                                         "inside a quoted cell is fine, a row inside one is not)")]
    return []


def _read_parquet(data: bytes) -> tuple[Rows, list[Problem]]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(io.BytesIO(data)).read()
    except Exception as e:
        return [], [Problem(None, None, f"not a readable Parquet file: {e}")]
    names = table.column_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return [], [Problem(None, name, "is in the file twice (only one value can count)") for name in repeated]
    return list(enumerate(table.to_pylist(), start=1)), []


# ------------------------------------------------------------------------------------------- validating


def check_row(number: int, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """A row's values in their types (empty cells left out), and its problems: each cell's, then the row's."""
    values: dict[str, Any] = {}
    problems = []
    for column, value in raw.items():
        if column not in COLUMNS or is_missing(value):
            continue  # unknown columns are reported once per file
        value, reason = check_value(column, value)
        if reason:
            problems.append(Problem(number, column, reason))
        else:
            values[column] = value
    for column in REQUIRED:
        if is_missing(raw.get(column)):
            problems.append(Problem(number, column, "is required"))
    if is_missing(raw.get("prompt")) and is_missing(raw.get("image_prompt")):
        problems.append(Problem(number, "prompt", "a shot needs a prompt, an image_prompt or both"))
    start, end = values.get("frame_start"), values.get("frame_end")
    if start is not None and end is not None and end < start:
        problems.append(Problem(number, "frame_end", f"must not be before frame_start ({end} < {start})"))
    return values, problems


def check_flags(flags: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Job-wide values (None: not given), held to the same rules as a row's."""
    unknown = set(flags) - set(JOB_WIDE)
    if unknown:
        raise TypeError(f"not job-wide columns: {', '.join(sorted(unknown))}")
    values, problems = {}, []
    for column, value in flags.items():
        if value is None:
            continue
        value, reason = check_value(column, value)
        if reason:
            problems.append(Problem(None, column, f"job default: {reason}"))
        else:
            values[column] = value
    return values, problems


def resolve_path(reference: str, manifest_url: str) -> str:
    """Paths in a manifest are relative to the manifest itself; URLs and absolute paths stay as they are."""
    if "://" in reference or reference.startswith("/"):
        return reference
    return storage.join(storage.parent(manifest_url), reference)


def load_manifest(url: str, settings: Mapping[str, Any] | None = None, ocio: str | None = None,
                  **flags: Any) -> list[Shot]:
    """Read, validate and resolve a manifest. Raises ManifestError listing every problem found.

    `settings` are the model's (default: DEFAULT_SETTINGS): the defaults it decides (steps, window)
    and what it needs of working sizes and windows. `flags` are job-wide values for the columns in
    JOB_WIDE (None: not given); a row's own value wins over them. Colourspace and view names are
    checked against the OCIO config `ocio` (media.colour.config_source).
    """
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    given, problems = check_flags(flags)
    config_problem = _colour_config_problem(ocio)
    problems += [config_problem] if config_problem else []
    defaults = {**job_defaults(settings), **given}
    rows, file_problems = read_rows(url)
    problems += file_problems
    unknown: dict[str, int] = {}
    for number, raw in rows:
        for column in raw:
            if column not in COLUMNS:
                unknown.setdefault(column, number)
    for column, number in unknown.items():
        problems.append(Problem(number, column, f"unknown column (known: {', '.join(COLUMNS)})"))
    if not rows and not problems:
        problems.append(Problem(None, None, "the manifest has no shots"))

    shots: list[Shot] = []
    first_row_of: dict[str, tuple[int, str]] = {}  # ids ignoring case: on case-insensitive stores "A" is "a"
    for number, raw in rows:
        values, row_problems = check_row(number, raw)
        problems.extend(row_problems)
        shot_id = values.get("shot_id")
        if shot_id is not None:
            if shot_id.lower() in first_row_of:
                first, other = first_row_of[shot_id.lower()]
                same = "" if other == shot_id else f"; {other!r} ignoring case, one folder on case-insensitive storage"
                problems.append(Problem(number, "shot_id", f"duplicate of row {first} ({shot_id!r}{same})"))
            else:
                first_row_of[shot_id.lower()] = (number, shot_id)
        if not row_problems:
            shot = resolve(with_paths(values, url), defaults, number)
            problems.extend(model_problems(number, shot, settings))
            if not config_problem:
                problems.extend(colour_problems(number, shot, ocio))
            shots.append(shot)
    problems.extend(timeline_problems(shots))
    if problems:
        raise ManifestError(url, sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return shots


def with_paths(values: dict[str, Any], manifest_url: str) -> dict[str, Any]:
    """The row's values with its files resolved against the manifest's folder."""
    paths = {c: resolve_path(values[c], manifest_url) for c in ("video", "image_prompt", "timeline") if values.get(c)}
    return {**values, **paths}


def _colour_config_problem(ocio: str | None) -> Problem | None:
    from gen1_batch.media.colour import ColourError, config_source, load_config

    try:
        load_config(config_source(ocio))
    except ColourError as e:
        return Problem(None, None, str(e))
    return None


def colour_problems(number: int | None, shot: Shot, ocio: str | None) -> list[Problem]:
    """The row's colourspace and view checked against the job's OCIO config (one line each)."""
    from gen1_batch.media.colour import ColourError, colorspace_problem, config_source, load_config, split_view

    config = load_config(config_source(ocio))
    problems = []
    try:
        split_view(config, shot.view)
    except ColourError as e:
        problems.append(Problem(number, "view", str(e)))
    problem = colorspace_problem(config, shot.colorspace) if shot.colorspace else None
    if problem:
        problems.append(Problem(number, "colorspace", problem))
    return problems


def timeline_problems(shots: Iterable[Shot]) -> list[Problem]:
    """A job writes one edited timeline: its rows may name clips of one timeline only, each clip once."""
    main: tuple[str, int | None] | None = None  # the first row's timeline, and that row
    clips: dict[str, int | None] = {}  # TIMELINE#N -> the row naming it
    problems = []
    for shot in shots:
        if shot.timeline is None:
            continue
        timeline = shot.timeline.rpartition("#")[0]
        main = main or (timeline, shot.row)
        if timeline != main[0]:
            problems.append(Problem(shot.row, "timeline", f"names {timeline}, but row {main[1]} names {main[0]}: "
                                                          "a job writes one edited.otio"))
        elif shot.timeline in clips:
            problems.append(Problem(shot.row, "timeline", f"{shot.timeline} is row {clips[shot.timeline]}'s clip "
                                                          "already: one shot per clip"))
        else:
            clips[shot.timeline] = shot.row
    return problems


def model_problems(number: int | None, shot: Shot, settings: Mapping[str, Any]) -> list[Problem]:
    """What the resolved values ask of the model that it cannot do."""
    problems = []
    multiple, max_window = settings["resolution_multiple"], settings["max_window"]
    for column in ("width", "height"):
        size = getattr(shot, column)
        if size is not None and size % multiple:
            problems.append(Problem(number, column, f"this model needs a multiple of {multiple}, got {size}"))
    if shot.window > max_window:
        problems.append(Problem(number, "window", f"this model takes at most {max_window} frames per window, "
                                                  f"got {shot.window}"))
    if shot.window_stride > shot.window:
        problems.append(Problem(number, "window_stride", f"must not exceed the window ({shot.window_stride} > "
                                                         f"{shot.window}); windows must overlap or touch"))
    return problems


def missing_files(shots: Iterable[Shot]) -> list[Problem]:
    """Videos, sequence frames and reference images that do not exist (in parallel: on object
    storage each check is a request)."""
    from concurrent.futures import ThreadPoolExecutor

    from gen1_batch.errors import ShotError
    from gen1_batch.media import sequence

    def check(shot: Shot, column: str) -> Problem | None:
        path = getattr(shot, column)
        try:
            if column == "video" and sequence.is_sequence(path):
                sequence.frame_range(sequence.parse(path), shot.frame_start, shot.frame_end,
                                     allow_missing=shot.damaged_frames != "fail")
                return None
            return None if storage.exists(path) else Problem(shot.row, column, f"file not found: {path}")
        except (ShotError, storage.StorageError) as e:  # each row's own problem; the others are checked on
            return Problem(shot.row, column, str(e))

    checks = [(s, col) for s in shots for col in ("video", "image_prompt") if getattr(s, col)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        return [p for p in pool.map(lambda c: check(*c), checks) if p]
