"""The row contract between the stages: one shot is one `ShotRow`, typed; Ray Data sees its columns.

Stage code reads and returns `ShotRow`s (`row.video_info` is a VideoInfo, `row.conditioning` a dict
of arrays); the conversion to and from Ray Data's columns happens here only (`rows_of`, `batch_of`),
at the boundary of each stage. Small structured values travel as JSON strings: their keys vary from
shot to shot (metrics, sources), which Arrow structs would turn into differing block schemas.

A failed row keeps every column (heavy ones empty, of the right rank), so blocks of failed and good
shots always share one schema, and it flows on untouched to the writer, which writes its report.
Its status is the report's: "succeeded" until a stage fails it, then "failed".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from gen1_batch.errors import describe as describe_error  # one line, the same as the CLI's
from gen1_batch.media.reader import VideoInfo
from gen1_batch.report.schema import FAILED, SUCCEEDED
from gen1_batch.shot import Shot
from gen1_batch.stages.common import pack_arrays, unpack_arrays
from gen1_batch.stages.spec import STAGES

Batch = dict[str, np.ndarray]  # Ray Data's numpy batch: column name -> one value per row


@dataclass(frozen=True)
class StageError:
    """Why a shot failed, as its report says it (report.json "error")."""

    stage: str
    type: str
    message: str

    @classmethod
    def of(cls, stage: str, error: BaseException) -> StageError:
        return cls(stage, type(error).__name__, describe_error(error))


HEAVY = {"heavy": True}  # field metadata: a value a failed row drops


def _zeros(*shape: int, dtype: type = np.uint8) -> Callable[[], np.ndarray]:
    """An empty array of the right rank: failed and good rows share one block schema."""
    return lambda: np.zeros(shape, dtype)


@dataclass(frozen=True)
class ShotRow:
    """One shot between the stages: what each stage adds, each with its empty value."""

    shot: Shot
    error: StageError | None = None  # set by the stage that failed the shot; later stages pass it on
    video_info: VideoInfo | None = None  # the source range as decoded
    sources: dict[str, Any] = field(default_factory=dict)  # video and image prompt fingerprints, before decoding
    fingerprints: dict[str, str] = field(default_factory=dict)  # model component -> weight fingerprint
    sampling: dict[str, Any] | None = None  # window plan and model passes (diffusion)
    metrics: dict[str, float | None] | None = None  # report.metrics (metrics)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    timeline: dict[str, float] = field(default_factory=dict)  # when each stage finished with the shot (Unix s)
    # Heavy values, at the working size; empty until a stage makes them, and dropped when the shot fails.
    frames: np.ndarray = field(default_factory=_zeros(0, 0, 0, 3), metadata=HEAVY)  # the source range, f×h×w×3
    reference: np.ndarray = field(default_factory=_zeros(0, 0, 3), metadata=HEAVY)  # the image prompt, h×w×3
    depth: np.ndarray = field(default_factory=_zeros(0, 0, 0, dtype=np.float16), metadata=HEAVY)  # f×h×w in [0, 1]
    conditioning: dict[str, np.ndarray] = field(default_factory=dict, metadata=HEAVY)  # what the model conditions on
    edited: np.ndarray = field(default_factory=_zeros(0, 0, 0, 3), metadata=HEAVY)  # the edit, f×h×w×3

    @property
    def status(self) -> str:
        return FAILED if self.error else SUCCEEDED

    def failed(self, stage: str, error: BaseException) -> ShotRow:
        return replace(self, error=StageError.of(stage, error))

    def without_arrays(self) -> ShotRow:
        """The row with its heavy values empty (a failed shot carries no frames to later stages)."""
        return replace(self, **{f.name: f.default_factory() for f in fields(self) if f.metadata.get("heavy")})

    def finished(self, stage: str, seconds: float) -> ShotRow:
        """The row with `stage` done now, after `seconds` of work: the gaps in the timeline between
        stages, less their seconds, are the time the shot waited in queues."""
        return replace(self, seconds={**self.seconds, stage: seconds},
                       timeline={**self.timeline, stage: round(time.time(), 3)})

    def to_columns(self) -> dict[str, Any]:
        """The row as Ray Data stores it: every column, whatever the row's status."""
        error = self.error or StageError("", "", "")
        return {
            "shot_id": self.shot.shot_id,
            "shot": self.shot.to_json(),
            "status": self.status,
            "error_stage": error.stage,
            "error_type": error.type,
            "error_message": error.message,
            "video_info": json.dumps(self.video_info.to_dict() if self.video_info else None),
            "sources": json.dumps(self.sources),
            "fingerprints": json.dumps(self.fingerprints),
            "sampling": json.dumps(self.sampling),
            "metrics": json.dumps(self.metrics),
            "timeline": json.dumps(self.timeline),
            **{f"seconds_{stage}": float(self.seconds[stage]) for stage in STAGES},
            "frames": self.frames,
            "reference": self.reference,
            "depth": self.depth,
            "conditioning": pack_arrays(self.conditioning),
            "edited": self.edited,
        }

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> ShotRow:
        failed = str(columns["status"]) == FAILED
        video_info = json.loads(str(columns["video_info"]))
        return cls(
            shot=Shot.from_json(str(columns["shot"])),
            error=StageError(str(columns["error_stage"]), str(columns["error_type"]),
                             str(columns["error_message"])) if failed else None,
            video_info=VideoInfo.from_dict(video_info) if video_info else None,
            sources=json.loads(str(columns["sources"])),
            fingerprints=json.loads(str(columns["fingerprints"])),
            sampling=json.loads(str(columns["sampling"])),
            metrics=json.loads(str(columns["metrics"])),
            timeline=json.loads(str(columns["timeline"])),
            seconds={stage: float(columns[f"seconds_{stage}"]) for stage in STAGES},
            frames=columns["frames"],
            reference=columns["reference"],
            depth=columns["depth"],
            conditioning=unpack_arrays(columns["conditioning"]),
            edited=columns["edited"],
        )


def rows_of(batch: Batch) -> list[ShotRow]:
    return [ShotRow.from_columns(columns) for columns in _split(batch)]


def batch_of(rows: list[dict[str, Any]]) -> Batch:
    """Rows' columns (ShotRow.to_columns, or any other stage output) as one Ray Data batch."""
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if isinstance(values[0], np.ndarray):
            if all(v.shape == values[0].shape for v in values):
                out[key] = np.stack(values)
            else:  # shots of different sizes: one object per row (Ray keeps them as variable-shaped tensors)
                out[key] = np.empty(len(values), dtype=object)
                for i, v in enumerate(values):
                    out[key][i] = v
        else:
            out[key] = np.array(values)
    return out


def _split(batch: Batch) -> list[dict[str, Any]]:
    n = len(next(iter(batch.values())))
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


def run_stage(name: str, batch: Batch, process: Callable[[ShotRow], ShotRow]) -> Batch:
    """Apply `process` to each good row; a row whose processing raises (or whose result cannot be
    stored) becomes a failed row, with its arrays dropped. Failed rows pass untouched."""
    return batch_of([row.to_columns() if row.error else _process(name, row, process) for row in rows_of(batch)])


def _process(name: str, row: ShotRow, process: Callable[[ShotRow], ShotRow]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        done = process(row)
        return done.finished(name, time.perf_counter() - start).to_columns()
    except Exception as error:  # one shot's failure must never cost the others
        failed = row.failed(name, error).without_arrays()
        return failed.finished(name, time.perf_counter() - start).to_columns()


# The dataflow's ends: it starts from the shots alone (a small block each; decode makes their
# ShotRows) and the write stage gives each shot's report.

def shot_columns(shot: Shot) -> dict[str, str]:
    return {"shot_id": shot.shot_id, "shot": shot.to_json()}


def shots_of(batch: Batch) -> list[Shot]:
    return [Shot.from_json(str(text)) for text in batch["shot"]]


def report_columns(report: dict[str, Any]) -> dict[str, str]:
    return {"shot_id": report["shot_id"], "status": report["status"], "report": json.dumps(report)}


def report_of(columns: dict[str, Any]) -> dict[str, Any]:
    return json.loads(columns["report"])
