"""The shot schema, stated once: each manifest column's type, range, default and help.

Everything else is generated from `Shot`'s fields: the manifest's validation (one cell at a time,
so every problem of a manifest is found in one pass), the job-wide defaults, the options `gen1 run`,
`gen1 submit` and `gen1 edit` share, `gen1 validate --help` and the README's column table (a test
keeps it equal). A value is resolved in layers: the schema's default < the model's settings <
job-wide flags < the row's own value.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from gen1_batch import storage
from gen1_batch.layout import JOB_FILES
from gen1_batch.media.damage import DAMAGED_FRAME_MODES
from gen1_batch.media.formats import FORMATS, OUTPUT_FORMATS
from gen1_batch.media.timecode import is_timecode, parse_rate
from gen1_batch.model.settings import BLENDS, DEFAULT_SETTINGS, default_stride

MAX_SEED = 2**63 - 1
# Matched whole (fullmatch: "$" would let a trailing newline through). No trailing '.': Windows drops
# it, so "sh010." and "sh010" would be one folder there.
SHOT_ID_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_-])?")
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10))}


# ------------------------------------------------------------------------------- markers on the fields


@dataclass(frozen=True)
class JobWide:
    """A column a job may set for all its shots (`gen1 run --structure 2`); a row's value wins."""


@dataclass(frozen=True)
class FromModel:
    """A column whose default is the model's setting `setting` (steps: the model's default steps)."""

    setting: str
    text: str = "the model's"


@dataclass(frozen=True)
class DefaultIs:
    """What an empty column comes to, in words, when no value in the schema says it: computed from the
    shot's other values (resolve) or decided later from the source or the model."""

    text: str


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):  # JSON true is not the number 1 here
        raise ValueError("expected a number, got a boolean")
    return value


def _rate(value: Any) -> str:
    try:
        return str(parse_rate(_no_bool(value)))
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        raise ValueError(f"expected a frame rate such as 24, 25 or 24000/1001, got {value!r}") from None


def _timecode(value: str) -> str:
    if not is_timecode(value):
        raise ValueError(f"expected HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame), got {value!r}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def shot_id_problem(shot_id: str) -> str | None:
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


def _timeline_clip(value: str) -> str:
    path, sep, number = value.rpartition("#")
    if not (sep and path.strip() and number.isdigit() and int(number) >= 1):
        raise ValueError(f"expected TIMELINE#N, a timeline file and the number of its clip (from 1), got {value!r}")
    return value


def _shot_id(value: str) -> str:
    problem = shot_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]
Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
Rate = Annotated[str, BeforeValidator(_rate)]  # an exact frame rate, kept as "24000/1001"


def _window_lengths() -> str:
    """Each preset's clip length from its settings ("8 for tiny, …; 16 for …"), so the help stays true."""
    from gen1_batch.model.presets import PRESETS

    names: dict[int, list[str]] = {}
    for name, preset in PRESETS.items():
        names.setdefault({**DEFAULT_SETTINGS, **preset.settings}["window_length"], []).append(name)
    return "; ".join(f"{length} for {', '.join(group)}" for length, group in sorted(names.items()))


# ------------------------------------------------------------------------------------------ the schema


class Shot(BaseModel):
    """A manifest row with every parameter resolved: what one shot's edit depends on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shot_id: Annotated[str, AfterValidator(_shot_id), Field(description=(
        "Unique id, ignoring case; names the output folder: up to 128 letters, digits, '.', '_', '-', from a letter "
        f"or digit, not ending in '.', and not {', '.join(JOB_FILES)} (the job's own files)."))]
    video: Annotated[str, AfterValidator(_not_blank), Field(description=(
        "Source: a movie, or an image sequence as plate.####.exr, plate.%04d.dpx or plate.1001-1100#.png; a path "
        "(relative to the manifest) or URL."))]
    prompt: Annotated[str | None, Field(description=(
        "Text describing the wanted content. `prompt` and/or `image_prompt` is required."))] = None
    image_prompt: Annotated[str | None, Field(description=(
        "Reference image whose look the edit takes (path or URL)."))] = None
    negative_prompt: Annotated[str | None, JobWide(), Field(description=(
        "Text the edit steers away from (replaces the null content in guidance)."))] = None
    seed: Annotated[Int, DefaultIs("a stable hash of shot_id, so re-runs reproduce"), Field(ge=0, le=MAX_SEED,
                    description="Noise seed.")]
    structure: Annotated[Int, JobWide(), Field(ge=0, le=7, description=(
        "t_s: how many times depth is blurred and downsampled. 0 follows the source shapes strictly; higher gives "
        "the prompt more freedom."))] = 3
    content_scale: Annotated[Number, JobWide(), Field(ge=0, description=(
        "ω, content guidance scale: how strongly the prompt is followed."))] = 7.5
    temporal_scale: Annotated[Number, JobWide(), Field(ge=0, description=(
        "ω_t, temporal guidance scale: 1 is the plain video model; above 1 pushes temporal consistency (costs one "
        "extra UNet pass per step)."))] = 1.0
    steps: Annotated[Int, JobWide(), FromModel("default_steps"), Field(ge=1, le=1000, description=(
        "Denoising steps."))]
    frame_start: Annotated[Int | None, Field(ge=0, description=(
        "First source frame to edit (inclusive, the source's own numbers: from 0 in a movie, the file numbers of "
        "a sequence)."))] = None
    frame_end: Annotated[Int | None, Field(ge=0, description="Last source frame to edit (inclusive).")] = None
    fps: Annotated[Rate | None, Field(description=(
        "Frame rate of an image sequence, exact: 24, 25, 24000/1001 (23.976 means 24000/1001).")),
        DefaultIs("24; movies carry their own")] = None
    timecode: Annotated[str | None, AfterValidator(lambda v: v if v is None else _timecode(v)), Field(description=(
        "Timecode of the first edited frame, HH:MM:SS:FF (; for drop-frame), for sources that carry none (a "
        "movie's own or an EXR/DPX header's wins)."))] = None
    colorspace: Annotated[str | None, AfterValidator(lambda v: v if v is None else _not_blank(v)), Field(description=(
        "The source's colourspace, a name (or alias, role, interop id) in the job's OCIO config (--ocio).")),
        DefaultIs("by format from the config: EXR its scene_linear role (ACEScg) unless the file's header names "
                  "one, DPX its compositing_log role (ACEScct), movies, PNG and TIFF the view's display colourspace "
                  "(sRGB - Display)")] = None
    view: Annotated[str | None, JobWide(), AfterValidator(lambda v: v if v is None else _not_blank(v)), Field(
        description=("DISPLAY/VIEW of the OCIO config through which the models see the frames (a VIEW alone: of "
                     "the default display); the edit goes back through its inverse.")),
        DefaultIs("the config's default display and view (sRGB - Display/ACES 2.0 - SDR 100 nits (Rec.709))")] = None
    width: Annotated[Int | None, JobWide(), Field(ge=8, le=8192, multiple_of=8, description=(
        "Working width in pixels (and a multiple of what the model needs).")),
        DefaultIs("from the model, keeping aspect")] = None
    height: Annotated[Int | None, JobWide(), Field(ge=8, le=8192, multiple_of=8, description=(
        "Working height in pixels (and a multiple of what the model needs).")),
        DefaultIs("from the model, keeping aspect")] = None
    output_format: Annotated[Literal[OUTPUT_FORMATS], JobWide(), Field(description=(  # type: ignore[valid-type]
        ", ".join(f"{f.name} ({f.description})" for f in FORMATS.values()) + "."))] = "mp4"
    window: Annotated[Int, JobWide(), FromModel("window_length", f"the model's clip length ({_window_lengths()})"),
                      Field(ge=1, description="Frames per sampling window.")]
    window_stride: Annotated[Int, JobWide(), DefaultIs("half the window"), Field(ge=1, description=(
        "Frames between window starts; window - stride frames overlap."))]
    window_blend: Annotated[Literal[BLENDS], JobWide(), Field(description=(  # type: ignore[valid-type]
        "How overlapping windows are blended."))] = "pyramid"
    window_shift: Annotated[bool, JobWide(), Field(description=(
        "Move the window boundaries from step to step, so seams never stay on the same frames."))] = True
    free_noise: Annotated[bool, JobWide(), Field(description=(
        "FreeNoise initial noise: one window of noise, shuffled and repeated along the shot, for long-range "
        "consistency."))] = False
    damaged_frames: Annotated[Literal[DAMAGED_FRAME_MODES], JobWide(), Field(description=(  # type: ignore[valid-type]
        "A frame that cannot be decoded or read: fail the shot, or put the nearest good frame or black in its "
        "place; the report lists them."))] = "fail"
    retime: Annotated[bool, JobWide(), Field(description=(
        "Accept writing a variable-frame-rate movie to an image sequence at a constant rate (else such a shot "
        "fails; mp4 and prores keep the timestamps)."))] = False
    # Where the shot sits in an edit, not how it is edited: left out of params(), so it changes no edit.
    timeline: Annotated[str | None, AfterValidator(lambda v: v if v is None else _timeline_clip(v)), Field(
        exclude=True, description=(
            "The clip this shot is, as TIMELINE#N: the Nth video clip of an .otio, .edl or .xml edit (a path relative "
            "to the manifest, or URL); `gen1 manifest from-timeline` writes it. `gen1 run` then also writes "
            "edited.otio, that timeline with each such clip pointing at its shot's edit."))] = None
    row: Annotated[int, Field(exclude=True)] = 0  # where it is in the manifest; not a parameter

    def params(self) -> dict[str, Any]:
        return self.model_dump()  # `row` is excluded

    def __eq__(self, other: object) -> bool:  # the same shot wherever it sits in a manifest
        return isinstance(other, Shot) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash(self.params_hash())

    def params_hash(self) -> str:
        """Identifies the resolved parameters; a re-run skips a shot only if this is unchanged."""
        return hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps({**self.params(), "row": self.row}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Shot:
        return cls.model_construct(**json.loads(text))  # written by to_json from a valid shot


# ---------------------------------------------------------------------------- what the fields declare

FIELDS: dict[str, FieldInfo] = {name: f for name, f in Shot.model_fields.items() if name != "row"}
COLUMNS = tuple(FIELDS)


def _marker(field: FieldInfo, kind: type) -> Any:
    return next((m for m in field.metadata if isinstance(m, kind)), None)


REQUIRED = tuple(name for name, f in FIELDS.items()
                 if f.is_required() and not _marker(f, FromModel) and not _marker(f, DefaultIs))
JOB_WIDE = tuple(name for name, f in FIELDS.items() if _marker(f, JobWide))
DEFAULTS: dict[str, Any] = {name: f.default for name, f in FIELDS.items() if not f.is_required()}


def choices(name: str) -> tuple[str, ...] | None:
    """The values a column takes, when it is a choice."""
    annotation = FIELDS[name].annotation
    return get_args(annotation) if get_origin(annotation) is Literal else None


def bounds(name: str) -> dict[str, Any]:
    """The column's numeric constraints: ge, le, multiple_of (those it has)."""
    found: dict[str, Any] = {}
    for m in FIELDS[name].metadata:
        for key in ("ge", "le", "multiple_of"):
            if getattr(m, key, None) is not None:
                found[key] = getattr(m, key)
    return found


def rule(name: str) -> str | None:
    """The column's range in words ("from 0 to 7", "a multiple of 8 from 8 to 8192", "one of …")."""
    if choices(name):
        return f"one of {', '.join(choices(name))}"
    b = bounds(name)
    if not b:
        return None
    words = f"a multiple of {b['multiple_of']} " if "multiple_of" in b else ""
    if "ge" in b and "le" in b:
        return f"{words}from {b['ge']} to {b['le']}"
    if b.get("ge") == 0:
        return f"{words}zero or more"
    return f"{words}at least {b['ge']}" if "ge" in b else f"{words}at most {b['le']}"


def kind(name: str) -> str:
    """The column's type as the README names it: str, int, float, bool or Fraction."""
    if name == "fps":
        return "Fraction"
    annotation = FIELDS[name].annotation
    types = {get_args(a)[0] if get_origin(a) is Annotated else a for a in (get_args(annotation) or (annotation,))}
    return next((word for candidate, word in ((bool, "bool"), (int, "int"), (float, "float")) if candidate in types),
                "str")


def default_text(name: str) -> str | None:
    field = FIELDS[name]
    if (model := _marker(field, FromModel)) is not None:
        return model.text
    if (said := _marker(field, DefaultIs)) is not None:
        return said.text
    default = DEFAULTS.get(name)
    if default is None:
        return None
    return str(default).lower() if isinstance(default, bool) else str(default)


def help_text(name: str) -> str:
    """The column's help: what it means, its range and its default, each from the field."""
    parts = [FIELDS[name].description or ""]
    if rule(name):
        parts.append(f"{rule(name)[0].upper()}{rule(name)[1:]}.")
    if default_text(name):
        parts.append(f"Default: {default_text(name)}.")
    return " ".join(parts)


# --------------------------------------------------------------------------------- checking and resolving

_ADAPTERS = {name: TypeAdapter(Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation)
             for name, f in FIELDS.items()}


def check_value(name: str, value: Any) -> tuple[Any, str | None]:
    """`value` of column `name` in its type, or the reason it is not one (in the column's own words)."""
    if isinstance(value, float) and not math.isfinite(value) and kind(name) != "float":
        return None, f"must be a finite number, got {value}"
    try:
        return _ADAPTERS[name].validate_python(value), None
    except ValidationError as e:
        return None, _reason(name, e.errors()[0], value)


def _reason(name: str, error: Mapping[str, Any], value: Any) -> str:
    kind_of = error["type"]
    if kind_of == "value_error":  # our validators' ValueError: pydantic prefixes "Value error, "
        return str(error["msg"]).removeprefix("Value error, ")
    if kind_of in ("greater_than_equal", "less_than_equal", "multiple_of", "literal_error"):
        return f"must be {rule(name)}, got {value!r}"
    if kind_of == "finite_number":
        return f"must be a finite number, got {value}"
    expected = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text",
                "Fraction": "a frame rate"}[kind(name)]
    return f"expected {expected}, got {value!r}"


def is_missing(value: Any) -> bool:
    return value is None or value == ""  # NaN is not "missing": Parquet nulls are None, and NaN is refused


def default_seed(shot_id: str) -> int:
    """A seed that depends only on the shot id, stable across runs, machines and Python versions."""
    return int.from_bytes(hashlib.sha256(shot_id.encode()).digest()[:4], "big")


def job_defaults(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each column's value for a row that leaves it empty, before job-wide flags: the schema's
    default, or the model's setting for the columns the model decides."""
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    values = dict(DEFAULTS)
    for name, field in FIELDS.items():
        if (model := _marker(field, FromModel)) is not None:
            values[name] = settings[model.setting]
    return values


def resolve(values: Mapping[str, Any], defaults: Mapping[str, Any], row: int = 0) -> Shot:
    """A shot from a row's checked values over `defaults` (from job_defaults and job-wide flags)."""
    merged = {**defaults, **values}
    merged.setdefault("seed", default_seed(merged["shot_id"]))
    if merged.get("window_stride") is None:
        merged["window_stride"] = default_stride(merged["window"])
    return Shot.model_construct(**{name: merged.get(name) for name in COLUMNS}, row=row)
