"""What every stage shares: the row layout, and turning one shot's exception into a failed row.

One row is one shot. Columns are plain values and arrays; a failed row keeps every column (empty
arrays of the right rank) so blocks of failed and good shots always share one schema, and it flows
on untouched to the writer, which writes its report.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gen1_batch.errors import describe as describe_error  # one line, the same as the CLI's
from gen1_batch.stages.spec import STAGES

OK, FAILED = "ok", "failed"

# Heavy columns and their empty value, for failed rows.
EMPTY: dict[str, Callable[[], np.ndarray]] = {
    "frames": lambda: np.zeros((0, 0, 0, 3), np.uint8),  # working-size input, f×h×w×3
    "reference": lambda: np.zeros((0, 0, 3), np.uint8),  # image prompt, h×w×3
    "depth": lambda: np.zeros((0, 0, 0), np.float16),  # f×h×w in [0, 1]
    "conditioning": lambda: np.zeros((0,), np.uint8),  # named arrays, packed (see pack_arrays)
    "edited": lambda: np.zeros((0, 0, 0, 3), np.uint8),
}


def initial_row(shot_json: str, shot_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "shot_id": shot_id,
        "shot": shot_json,
        "status": OK,
        "error_stage": "",
        "error_type": "",
        "error_message": "",
        "video_info": "{}",
        "sources": "{}",
        "sampling": "{}",
        "fingerprints": "{}",
        "metrics": "{}",
        "timeline": "{}",  # when each stage finished with the shot (Unix seconds)
    }
    row.update({f"seconds_{s}": 0.0 for s in STAGES})
    row.update({key: empty() for key, empty in EMPTY.items()})
    return row


def rows_of(batch: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    n = len(next(iter(batch.values())))
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


def batch_of(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
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


def pack_arrays(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Named arrays as one uint8 column value (each model conditions on its own set of arrays)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return np.frombuffer(buffer.getvalue(), np.uint8)


def unpack_arrays(packed: np.ndarray) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(packed.tobytes())) as data:
        return {name: data[name] for name in data.files}


def add_fingerprints(row: dict[str, Any], parts: dict[str, str]) -> str:
    return json.dumps({**json.loads(row["fingerprints"]), **parts}, sort_keys=True)


def run_stage(name: str, batch: dict[str, np.ndarray], process: Callable[[dict[str, Any]], dict[str, Any]]
              ) -> dict[str, np.ndarray]:
    """Apply `process` to each good row; a row whose processing raises becomes a failed row."""
    rows = rows_of(batch)
    for row in rows:
        if row["status"] != OK:
            continue
        start = time.perf_counter()
        try:
            row.update(process(row))
        except Exception as error:  # one shot's failure must never cost the others
            row.update(status=FAILED, error_stage=name, error_type=type(error).__name__,
                       error_message=describe_error(error))
            row.update({key: empty() for key, empty in EMPTY.items()})  # free the shot's arrays
        row[f"seconds_{name}"] = time.perf_counter() - start
        row["timeline"] = mark_time(row, name)
    return batch_of(rows)


def mark_time(row: dict[str, Any], stage: str) -> str:
    """The row's timeline with `stage` finishing now: the gaps between stages, less their seconds,
    are the time the shot waited in queues."""
    return json.dumps({**json.loads(row["timeline"]), stage: round(time.time(), 3)})


def set_torch_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def quiet_model_logs() -> None:
    """Loading progress bars and cast notices would repeat once per actor in the job log."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
