"""The batch job as one Ray Data dataflow:

    manifest rows → decode → depth → CLIP content → diffusion → metrics → encode + write

as stages/spec.py declares them (DATAFLOW), each row a ShotRow (stages/row.py). One row is one
shot and one block, so a worker crash costs only the shot it held. Decode and write are CPU tasks;
each model stage is an actor pool holding its part of the model. Every shot comes out as a row
with its report; a shot that never comes out (its worker died more often than the retries allow)
gets a failed report from the driver, so no shot is ever silently lost.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import ray
from ray.data import ActorPoolStrategy, DataContext, Dataset

from gen1_batch import storage
from gen1_batch.admission import gated, shots_in_flight_limit
from gen1_batch.config import JobConfig, StageResources, default_resources, fit_cpus
from gen1_batch.interrupt import StopNow
from gen1_batch.report.schema import REPORT_NAME, shot_folder, shot_report
from gen1_batch.report.summary import compact_report
from gen1_batch.shot import Shot
from gen1_batch.stages.row import report_of, shot_columns
from gen1_batch.stages.spec import DATAFLOW, STAGES, Stage

# Environment the workers need to reach storage and model hubs the way the driver does.
FORWARDED_ENV_PREFIXES = ("AWS_", "GOOGLE_", "GCS_", "GCSFS_", "FSSPEC_", "HF_", "HUGGINGFACE_", "GEN1_", "AZURE_")


def forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}


class _KnownNotices(logging.Filter):
    """Drops Ray's notices about settings this job makes on purpose."""

    NOTICES = ("Token authentication is enabled", "Progress bars disabled")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(n in record.getMessage() for n in self.NOTICES)


def quiet_ray_console() -> None:
    """Keep Ray's terminal output to warnings (its session log files keep everything), minus the
    notices above, so the job's own progress stays readable."""
    for name in ("ray", "ray.data"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.WARNING)
                handler.addFilter(_KnownNotices())


def start_ray(address: str | None) -> bool:
    """Connect to a cluster, or start a local one in this process. True if this call started it."""
    quiet_ray_console()
    if ray.is_initialized():
        return False
    # A driver submitted as a Ray job (gen1 submit) already runs in the job's environment, which
    # carries these variables; giving them again is refused as a conflict.
    in_job = "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ
    ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING,
             runtime_env=None if in_job else {"env_vars": forwarded_env()})
    quiet_ray_console()  # init may have set up its handlers anew
    return True


def cluster_resources() -> tuple[float, float]:
    res = ray.cluster_resources()
    return res.get("CPU", 1.0), res.get("GPU", 0.0)


def resolve_resources(overrides: dict[str, dict[str, Any]]) -> dict[str, StageResources]:
    """Defaults for this cluster, with per-stage overrides (actors, num_cpus, num_gpus, ...), every
    stage's minimum fitting in the cluster's CPUs at once (see default_resources)."""
    cpus, gpus = cluster_resources()
    resources = default_resources(cpus, gpus)
    for stage, changes in overrides.items():
        resources[stage] = StageResources(**{**resources[stage].__dict__, **changes})
    return fit_cpus(resources, cpus)


def stage_arguments(job: JobConfig, stage: Stage) -> dict[str, Any]:
    """map_batches' arguments for `stage`: one shot per batch, its resources, finite retries."""
    r = job.resources[stage.name]
    if not stage.actors:
        return {"batch_size": 1, "num_cpus": r.num_cpus, "max_retries": job.retries, "fn_kwargs": {"job": job}}
    low, high = r.pool
    return {
        "batch_size": 1,
        # One shot in flight per actor: a crash then costs only that shot.
        "compute": ActorPoolStrategy(min_size=low, max_size=high, max_tasks_in_flight_per_actor=1),
        "num_cpus": r.num_cpus,
        "num_gpus": r.num_gpus,
        # Ray Data's default is unlimited restarts and retries, which can hang a job on one poisonous shot.
        "max_restarts": job.retries,
        "max_task_retries": job.retries,
        "fn_constructor_kwargs": {"job": job},
    }


def build_dataset(shots: list[Shot], job: JobConfig) -> Dataset:
    # Only the shot itself goes in (a small block per shot); decode gives each row its full layout.
    rows = [shot_columns(shot) for shot in shots]
    with warnings.catch_warnings():
        # Ray 2.60 deprecates ray_remote_args but has no named parameter yet for max_retries,
        # max_restarts or max_task_retries; they are the only way to bound retries (revisit at 2.64).
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        for stage in DATAFLOW:
            ds = ds.map_batches(stage.load(), **stage_arguments(job, stage))
    return ds


def configure_data_context() -> None:
    ctx = DataContext.get_current()
    ctx.max_errored_blocks = -1  # a shot whose worker keeps dying is reported lost, not a reason to stop
    ctx.enable_progress_bars = False  # the CLI shows its own
    ctx.execution_no_progress_timeout_s = -1  # one long shot may hold a stage for hours


def lost_report(shot: Shot, job: JobConfig, reason: str) -> dict[str, Any]:
    """A failed report for a shot that never came out of the dataflow; written by the driver."""
    report = shot_report(
        shot=shot, job=job, error={"stage": "ray", "type": "ShotLost", "message": reason}, video=None,
        output=None, seconds={s: 0.0 for s in STAGES}, fingerprints={}, sampling=None,
    )
    try:
        storage.write_json_atomic(storage.join(shot_folder(job.output, shot.shot_id), REPORT_NAME), report)
    except OSError as e:
        report["error"]["message"] += f" (and its report could not be written: {e})"
    return report


def run_shots(shots: list[Shot], job: JobConfig, on_report: Callable[[dict[str, Any]], None],
              stop: threading.Event | None = None) -> dict[str, dict]:
    """Edit `shots` on the connected Ray cluster; returns, by shot id, the compact report (what the
    summary and the index read) of every shot that finished. `on_report` gets each whole report.

    Once `stop` is set, no new shot starts: the shots in flight finish, and the others get no
    report (they run next time). A StopNow (second Ctrl-C) abandons the shots in flight too.
    Otherwise a shot that never came out of the dataflow gets a failed report.
    """
    configure_data_context()
    stop = stop or threading.Event()
    results: dict[str, dict[str, Any]] = {}

    def finished(report: dict[str, Any]) -> None:
        results[report["shot_id"]] = compact_report(report)  # the driver keeps only this per shot
        on_report(report)

    error: BaseException | None = None
    try:
        with gated(shots_in_flight_limit(job.resources), stop):
            try:
                for report in _iter_reports(build_dataset(shots, job)):
                    finished(report)
            except Exception as e:  # the dataflow itself broke (a stage could not start, the cluster went away)
                error = e
        if stop.is_set():
            return results
        for shot in shots:
            if shot.shot_id not in results:
                reason = (f"the job stopped before this shot finished: {short_error(error)}" if error else
                          f"its worker died {job.retries + 1} times while editing it (out of memory, or a crash "
                          "in native code); see the Ray logs")
                finished(lost_report(shot, job, reason))
    except StopNow:
        pass
    return results


def short_error(error: BaseException) -> str:
    """The last line of an error that may carry a remote traceback (Ray wraps the worker's)."""
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines() if ln.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def _iter_reports(ds: Dataset) -> Iterator[dict[str, Any]]:
    for row in ds.iter_rows():
        yield report_of(row)

