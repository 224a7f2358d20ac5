"""The job's summary.json and results.parquet (one row per manifest shot), and reading them back."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gen1_batch import storage
from gen1_batch.layout import RESULTS_NAME, SUMMARY_NAME
from gen1_batch.report.html import INDEX_NAME, counts_of, index_page, index_row
from gen1_batch.report.rules import DEFAULT_THRESHOLD
from gen1_batch.report.schema import FAILED, REPORT_NAME, SCHEMA_VERSION, SUCCEEDED, report_problem
from gen1_batch.stages.spec import STAGES

METRICS = ("frame_consistency", "prompt_consistency", "reference_consistency", "structure_error",
           "source_frame_consistency")

RESULTS_SCHEMA = pa.schema([
    ("shot_id", pa.string()),
    ("status", pa.string()),
    ("ran", pa.bool_()),  # edited by this run (False: skipped, its earlier result stands)
    ("error_stage", pa.string()),
    ("error_type", pa.string()),
    ("error_message", pa.string()),
    ("video", pa.string()),
    ("frames", pa.int64()),
    ("fps", pa.string()),
    ("width", pa.int64()),
    ("height", pa.int64()),
    ("output", pa.string()),
    ("output_bytes", pa.int64()),
    *[(f"seconds_{s}", pa.float64()) for s in STAGES],
    ("seconds_total", pa.float64()),
    *[(m, pa.float64()) for m in METRICS],
    ("params_hash", pa.string()),
    ("model_key", pa.string()),
    ("model_fingerprint", pa.string()),
    ("random_weights", pa.bool_()),
    ("finished_at", pa.string()),
])


def result_row(report: dict[str, Any], ran: bool) -> dict[str, Any]:
    error = report.get("error") or {}
    video = report.get("input") or {}
    output = report.get("output") or {}
    seconds = report.get("seconds") or {}
    model = report.get("model") or {}
    metrics = report.get("metrics") or {}
    return {
        "shot_id": report["shot_id"],
        "status": report["status"],
        "ran": ran,
        "error_stage": error.get("stage"),
        "error_type": error.get("type"),
        "error_message": error.get("message"),
        "video": (report.get("params") or {}).get("video"),
        "frames": video.get("frames"),
        "fps": video.get("fps"),
        "width": video.get("width"),
        "height": video.get("height"),
        "output": output.get("url"),
        "output_bytes": output.get("bytes"),
        **{f"seconds_{s}": seconds.get(s) for s in STAGES},
        "seconds_total": seconds.get("total"),
        **{m: metrics.get(m) for m in METRICS},
        "params_hash": report.get("params_hash"),
        "model_key": model.get("key"),
        "model_fingerprint": model.get("fingerprint"),
        "random_weights": model.get("random_weights"),
        "finished_at": report.get("finished_at"),
    }


def compact_report(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report that summary.json, results.parquet and index.html read (result_row,
    index_row): a job's driver keeps this for each shot, not the whole report."""
    model, artifacts = report.get("model") or {}, report.get("artifacts") or {}
    return {
        **{k: report.get(k) for k in ("shot_id", "status", "error", "input", "output", "seconds", "metrics",
                                      "notes", "params_hash", "finished_at")},
        "params": {"video": (report.get("params") or {}).get("video")},
        "model": {k: model.get(k) for k in ("key", "fingerprint", "random_weights")},
        "artifacts": {k: artifacts[k] for k in ("thumbnail",) if k in artifacts},
    }


def write_summary(output: str, manifest: str, model: dict[str, Any], reports: list[tuple[dict[str, Any], bool]],
                  started_at: dt.datetime, wall_seconds: float, not_run: list[str] | None = None,
                  interrupted: bool = False) -> dict[str, Any]:
    """Write summary.json and results.parquet for every shot of the manifest with a report:
    (report, ran this job). `not_run`: the shots without one (not selected, or the job was
    interrupted before they started); they run next time."""
    rows = [result_row(report, ran) for report, ran in reports]
    not_run = list(not_run or [])
    counts = {
        "shots": len(rows) + len(not_run),
        "succeeded": sum(r["status"] == SUCCEEDED for r in rows),
        "failed": sum(r["status"] == FAILED for r in rows),
        "ran": sum(r["ran"] for r in rows),
        "skipped": sum(not r["ran"] for r in rows),
        "not_run": len(not_run),
    }
    summary = {
        "schema_version": SCHEMA_VERSION,
        "manifest": manifest,
        "output": output,
        "model": model,
        "started_at": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "interrupted": interrupted,  # stopped by Ctrl-C or SIGTERM before every shot ran
        "counts": counts,
        "failed": [{k: r[k] for k in ("shot_id", "error_stage", "error_type", "error_message")}
                   for r in rows if r["status"] == FAILED],
        # Succeeded shots a supervisor must look at: replaced frames, variable frame rates.
        "notes": [{"shot_id": report["shot_id"], "note": note} for report, _ in reports
                  for note in report.get("notes") or []],
        "not_run": not_run,
    }
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=RESULTS_SCHEMA), buffer)
    storage.write_bytes_atomic(storage.join(output, RESULTS_NAME), buffer.getvalue())
    storage.write_json_atomic(storage.join(output, SUMMARY_NAME), summary)
    return summary


def write_index(output: str, reports: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """index.html for every shot report of a job; returns its URL."""
    url = storage.join(output, INDEX_NAME)
    page = index_page(f"gen1 job: {output}", [index_row(r) for r in reports], counts_of(reports), threshold)
    storage.write_bytes_atomic(url, page.encode())
    return url


def collect_reports(output: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every shot report under an output folder (the reports are the truth; summaries can be stale),
    and one line for each report.json that cannot be read or is not a shot report."""
    fs, root = storage.filesystem(output)
    with storage.explained(output):
        if not fs.isdir(root):
            raise FileNotFoundError(f"{output}: no such output folder")
        folders = [p for p in fs.ls(root, detail=True) if p["type"] == "directory"]
    urls = [fs.unstrip_protocol(f"{f['name'].rstrip('/')}/{REPORT_NAME}") if storage.is_url(output)
            else f"{f['name'].rstrip('/')}/{REPORT_NAME}" for f in folders]

    def read(url: str) -> dict[str, Any] | str | None:
        try:
            report = storage.read_json(url)
        except FileNotFoundError:  # a folder without a report: a shot not finished, or not a shot
            return None
        except ValueError as e:
            return f"{url}: not valid JSON ({e})"
        except storage.StorageError as e:
            return str(e)
        problem = report_problem(report)
        return f"{url}: not a shot report ({problem})" if problem else report

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = [r for r in pool.map(read, urls) if r is not None]
    reports = sorted((r for r in results if isinstance(r, dict)), key=lambda r: r["shot_id"])
    return reports, sorted(r for r in results if isinstance(r, str))
