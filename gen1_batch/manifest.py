"""Manifest v1: one row per shot, as JSONL, CSV or Parquet, at a local path or any fsspec URL.

Reading is strict and reports every problem in one pass, so a TD fixes a manifest once rather
than once per error. Values are resolved in layers: built-in defaults < model defaults < job-wide
CLI flags < the row's own value.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from gen1_batch import storage
from gen1_batch.layout import JOB_FILES
from gen1_batch.media.damage import DAMAGED_FRAME_MODES
from gen1_batch.media.timecode import is_timecode, parse_rate
from gen1_batch.media.writer import OUTPUT_FORMATS
from gen1_batch.model.presets import PRESETS
from gen1_batch.model.settings import BLENDS, DEFAULT_SETTINGS

MANIFEST_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Matched whole (re.fullmatch: "$" would let a trailing newline through). No trailing '.': Windows
# drops it, so "sh010." and "sh010" would be one folder there.
SHOT_ID_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_-])?")
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10))}
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Column:
    kind: type  # str, int, float, bool or Fraction (a frame rate)
    help: str
    required: bool = False


def _window_lengths() -> str:
    """Each preset's clip length from its settings ("8 for tiny, …; 16 for …"), so the help stays true."""
    names: dict[int, list[str]] = {}
    for name, preset in PRESETS.items():
        names.setdefault({**DEFAULT_SETTINGS, **preset.settings}["window_length"], []).append(name)
    return "; ".join(f"{length} for {', '.join(group)}" for length, group in sorted(names.items()))


# The single source of truth for the schema: validation, the README table and `gen1 validate --help`.
COLUMNS: dict[str, Column] = {
    "shot_id": Column(str, "Unique id, ignoring case; names the output folder: up to 128 letters, digits, '.', "
                      "'_', '-', from a letter or digit, not ending in '.', and not "
                      f"{', '.join(JOB_FILES)} (the job's own files).", True),
    "video": Column(str, "Source: a movie, or an image sequence as plate.####.exr, plate.%04d.dpx or "
                    "plate.1001-1100#.png; a path (relative to the manifest) or URL.", True),
    "prompt": Column(str, "Text describing the wanted content. `prompt` and/or `image_prompt` is required."),
    "image_prompt": Column(str, "Reference image whose look the edit takes (path or URL)."),
    "negative_prompt": Column(str, "Text the edit steers away from (replaces the null content in guidance)."),
    "seed": Column(int, "Noise seed. Default: a stable hash of shot_id, so re-runs reproduce."),
    "structure": Column(int, "t_s, 0-7: how many times depth is blurred and downsampled. 0 follows the "
                        "source shapes strictly; higher gives the prompt more freedom."),
    "content_scale": Column(float, "ω, content guidance scale: how strongly the prompt is followed."),
    "temporal_scale": Column(float, "ω_t, temporal guidance scale: 1 is the plain video model; above 1 "
                             "pushes temporal consistency (costs one extra UNet pass per step)."),
    "steps": Column(int, "Denoising steps. Default: the model's."),
    "frame_start": Column(int, "First source frame to edit (inclusive, the source's own numbers: from 0 in a "
                          "movie, the file numbers of a sequence)."),
    "frame_end": Column(int, "Last source frame to edit (inclusive)."),
    "width": Column(int, "Working width in pixels (multiple of 8). Default: from the model, keeping aspect."),
    "height": Column(int, "Working height in pixels (multiple of 8). Default: from the model, keeping aspect."),
    "output_format": Column(str, "mp4 (H.264, review), prores (ProRes 422 HQ .mov, editorial), png (16-bit "
                            "sequence) or exr (half-float sequence)."),
    "fps": Column(Fraction, "Frame rate of an image sequence, exact: 24, 25, 24000/1001 (23.976 means "
                  "24000/1001). Default 24; movies carry their own."),
    "timecode": Column(str, "Timecode of the first edited frame, HH:MM:SS:FF (; for drop-frame), for sources "
                       "that carry none (a movie's own or an EXR/DPX header's wins)."),
    "window": Column(int, f"Frames per sampling window. Default: the model's clip length ({_window_lengths()})."),
    "window_stride": Column(int, "Frames between window starts; window - stride frames overlap. "
                            "Default: half the window."),
    "window_blend": Column(str, f"How overlapping windows are blended: {', '.join(BLENDS)} (default pyramid)."),
    "window_shift": Column(bool, "Move the window boundaries from step to step, so seams never stay on the "
                           "same frames (default true)."),
    "free_noise": Column(bool, "FreeNoise initial noise: one window of noise, shuffled and repeated along the "
                         "shot, for long-range consistency (default false)."),
    "damaged_frames": Column(str, "A frame that cannot be decoded or read: fail the shot (default), or put the "
                             "nearest good frame or black in its place (nearest, black); the report lists them."),
    "retime": Column(bool, "Accept writing a variable-frame-rate movie to a png or exr sequence at a constant "
                     "rate (default false: such a shot fails; mp4 and prores keep the timestamps)."),
}


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


@dataclass(frozen=True)
class JobDefaults:
    """Job-wide values for columns a row leaves empty."""

    structure: int = 3
    content_scale: float = 7.5
    temporal_scale: float = 1.0
    steps: int = 25
    width: int | None = None
    height: int | None = None
    output_format: str = "mp4"
    negative_prompt: str | None = None
    window: int = 8
    window_stride: int | None = None  # None: half the window
    window_blend: str = "pyramid"
    window_shift: bool = True
    free_noise: bool = False
    damaged_frames: str = "fail"
    retime: bool = False

    def replace(self, **overrides: Any) -> JobDefaults:
        """Apply overrides whose value is not None (a CLI flag left unset keeps the default)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def problems(self) -> list[Problem]:
        """Job-wide values are held to the same rules as a row's."""
        found = []
        for name, value in dataclasses.asdict(self).items():
            reason = None if value is None else _check_range(name, value)
            if reason:
                found.append(Problem(None, name, f"job default: {reason}"))
        return found


@dataclass(frozen=True)
class Shot:
    """A manifest row with every parameter resolved: what one shot's edit depends on."""

    shot_id: str
    video: str
    prompt: str | None
    image_prompt: str | None
    negative_prompt: str | None
    seed: int
    structure: int
    content_scale: float
    temporal_scale: float
    steps: int
    frame_start: int | None
    frame_end: int | None
    fps: str | None
    timecode: str | None
    width: int | None
    height: int | None
    output_format: str
    window: int
    window_stride: int
    window_blend: str
    window_shift: bool
    free_noise: bool
    damaged_frames: str
    retime: bool
    row: int = field(default=0, compare=False)  # where it is in the manifest; not a parameter

    def params(self) -> dict[str, Any]:
        params = dataclasses.asdict(self)
        del params["row"]
        return params

    def params_hash(self) -> str:
        """Identifies the resolved parameters; a re-run skips a shot only if this is unchanged."""
        blob = json.dumps(self.params(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Shot:
        return cls(**json.loads(text))


def default_seed(shot_id: str) -> int:
    """A seed that depends only on the shot id, stable across runs, machines and Python versions."""
    return int.from_bytes(hashlib.sha256(shot_id.encode()).digest()[:4], "big")


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


def _is_missing(value: Any) -> bool:
    return value is None or value == ""  # NaN is not "missing": Parquet nulls are None, and NaN is refused


def _coerce(value: Any, kind: type) -> Any:
    """Convert a cell to `kind`, accepting the spellings JSON, CSV and Parquet produce. Raises ValueError."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"expected {kind.__name__}, got a boolean")
    if kind is Fraction:
        try:
            return str(parse_rate(value))
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            raise ValueError(f"expected a frame rate such as 24, 25 or 24000/1001, got {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    return number


def _check_range(column: str, value: Any) -> str | None:
    """The reason `value` is out of range for `column`, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    if column == "shot_id":
        return _shot_id_problem(value)
    if column == "video" and not value.strip():
        return "must not be empty"
    if column == "structure" and not 0 <= value <= 7:
        return f"t_s must be an integer from 0 to 7, got {value}"
    if column in ("content_scale", "temporal_scale") and value < 0:
        return f"must be zero or more, got {value}"
    if column == "steps" and not 1 <= value <= 1000:
        return f"must be from 1 to 1000, got {value}"
    if column == "seed" and not 0 <= value <= MAX_SEED:
        return f"must be from 0 to {MAX_SEED}, got {value}"
    if column in ("frame_start", "frame_end") and value < 0:
        return f"must be zero or more, got {value}"
    if column in ("width", "height") and (value < 8 or value > 8192 or value % 8):
        return f"must be a multiple of 8 from 8 to 8192, got {value}"
    if column == "output_format" and value not in OUTPUT_FORMATS:
        return f"must be one of {', '.join(OUTPUT_FORMATS)}, got {value!r}"
    if column in ("window", "window_stride") and value < 1:
        return f"must be at least 1, got {value}"
    if column == "timecode" and not is_timecode(value):
        return f"expected HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame), got {value!r}"
    if column == "window_blend" and value not in BLENDS:
        return f"must be one of {', '.join(BLENDS)}, got {value!r}"
    if column == "damaged_frames" and value not in DAMAGED_FRAME_MODES:
        return f"must be one of {', '.join(DAMAGED_FRAME_MODES)}, got {value!r}"
    return None


def _shot_id_problem(shot_id: str) -> str | None:
    """Why `shot_id` cannot name a shot's folder on every store (case-insensitive ones included), or None."""
    if not SHOT_ID_PATTERN.fullmatch(shot_id):
        return (f"must be safe as a folder name: 1-128 letters, digits, '.', '_' or '-', starting with a "
                f"letter or digit and not ending with '.' (got {shot_id!r})")
    if shot_id.lower() in JOB_FILES:
        return f"{shot_id!r} is taken: the job writes {', '.join(JOB_FILES)} beside the shot folders"
    if storage.TMP_MARKER in shot_id:
        return f"must not contain {storage.TMP_MARKER!r}, which marks unfinished files (got {shot_id!r})"
    if shot_id.split(".")[0].upper() in WINDOWS_DEVICES:
        return f"{shot_id!r} is a device name on Windows and cannot name a folder there"
    return None


def _validate_row(number: int, raw: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    values: dict[str, Any] = {}
    problems = []
    for column, value in raw.items():
        if column not in COLUMNS:
            continue  # reported once per file
        if _is_missing(value):
            continue
        try:
            value = _coerce(value, COLUMNS[column].kind)
        except ValueError as e:
            problems.append(Problem(number, column, str(e)))
            continue
        reason = _check_range(column, value)
        if reason:
            problems.append(Problem(number, column, reason))
            continue
        values[column] = value
    for column, spec in COLUMNS.items():
        if spec.required and _is_missing(raw.get(column)):
            problems.append(Problem(number, column, "is required"))
    if _is_missing(raw.get("prompt")) and _is_missing(raw.get("image_prompt")):
        problems.append(Problem(number, "prompt", "a shot needs a prompt, an image_prompt or both"))
    start, end = values.get("frame_start"), values.get("frame_end")
    if start is not None and end is not None and end < start:
        problems.append(Problem(number, "frame_end", f"must not be before frame_start ({end} < {start})"))
    return values, problems


def resolve_path(reference: str, manifest_url: str) -> str:
    """Paths in a manifest are relative to the manifest itself; URLs and absolute paths stay as they are."""
    if "://" in reference or reference.startswith("/"):
        return reference
    return storage.join(storage.parent(manifest_url), reference)


def load_manifest(url: str, defaults: JobDefaults | None = None, size_multiple: int = 8,
                  max_window: int = 32) -> list[Shot]:
    """Read, validate and resolve a manifest. Raises ManifestError listing every problem found.

    `size_multiple` and `max_window` are what the model needs of working sizes and windows, given in
    the manifest or as defaults.
    """
    defaults = defaults or JobDefaults()
    rows, problems = read_rows(url)
    problems += defaults.problems()
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
        values, row_problems = _validate_row(number, raw)
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
            shot = _resolve(number, values, defaults, url)
            problems.extend(_model_problems(number, shot, size_multiple, max_window))
            shots.append(shot)
    if problems:
        raise ManifestError(url, sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return shots


def _model_problems(number: int, shot: Shot, size_multiple: int, max_window: int) -> list[Problem]:
    """What the resolved values ask of the model that it cannot do."""
    problems = []
    for column in ("width", "height"):
        size = getattr(shot, column)
        if size is not None and size % size_multiple:
            problems.append(Problem(number, column, f"this model needs a multiple of {size_multiple}, got {size}"))
    if shot.window > max_window:
        problems.append(Problem(number, "window", f"this model takes at most {max_window} frames per window, "
                                                  f"got {shot.window}"))
    if shot.window_stride > shot.window:
        problems.append(Problem(number, "window_stride", f"must not exceed the window ({shot.window_stride} > "
                                                         f"{shot.window}); windows must overlap or touch"))
    return problems


def _resolve(number: int, values: dict[str, Any], defaults: JobDefaults, manifest_url: str) -> Shot:
    def pick(column: str) -> Any:
        return values.get(column, getattr(defaults, column, None))

    image_prompt = values.get("image_prompt")
    return Shot(
        shot_id=values["shot_id"],
        video=resolve_path(values["video"], manifest_url),
        prompt=values.get("prompt"),
        image_prompt=resolve_path(image_prompt, manifest_url) if image_prompt else None,
        negative_prompt=pick("negative_prompt"),
        seed=values.get("seed", default_seed(values["shot_id"])),
        structure=pick("structure"),
        content_scale=pick("content_scale"),
        temporal_scale=pick("temporal_scale"),
        steps=pick("steps"),
        frame_start=values.get("frame_start"),
        frame_end=values.get("frame_end"),
        fps=values.get("fps"),
        timecode=values.get("timecode"),
        width=pick("width"),
        height=pick("height"),
        output_format=pick("output_format"),
        window=pick("window"),
        window_stride=pick("window_stride") or max(1, pick("window") // 2),
        window_blend=pick("window_blend"),
        window_shift=pick("window_shift"),
        free_noise=pick("free_noise"),
        damaged_frames=pick("damaged_frames"),
        retime=pick("retime"),
        row=number,
    )


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
