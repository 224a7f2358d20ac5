"""Which shots a run does: finished shots (same parameters, same model) are skipped."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gen1_batch.config import JobConfig
from gen1_batch.manifest import Shot
from gen1_batch.report.schema import FAILED, SUCCEEDED, is_done, read_report

RUN, SKIP = "run", "skip"


@dataclass(frozen=True)
class PlannedShot:
    shot: Shot
    action: str  # run | skip
    reason: str
    previous: dict[str, Any] | None  # the report an earlier run left, if any


def read_reports(output: str, shot_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """Existing reports, read in parallel (on object storage each is a request)."""
    with ThreadPoolExecutor(max_workers=32) as pool:
        return dict(zip(shot_ids, pool.map(lambda sid: read_report(output, sid), shot_ids), strict=True))


def _why_run(report: dict[str, Any] | None, shot: Shot, job: JobConfig) -> str:
    if report is None:
        return "new"
    if report.get("status") == FAILED:
        return "failed before"
    if report.get("params_hash") != shot.params_hash():
        return "parameters changed"
    return "model changed"


def plan_shots(shots: list[Shot], job: JobConfig, force: bool = False, only_failed: bool = False) -> list[PlannedShot]:
    if force and only_failed:
        raise ValueError("--force and --only-failed exclude each other")
    previous = read_reports(job.output, [s.shot_id for s in shots])
    planned = []
    for shot in shots:
        report = previous[shot.shot_id]
        status = report.get("status") if report else None
        if force:
            planned.append(PlannedShot(shot, RUN, "--force", report))
        elif only_failed:
            if status == FAILED:
                planned.append(PlannedShot(shot, RUN, "failed before", report))
            else:
                why = "succeeded before" if status == SUCCEEDED else "not run yet"
                planned.append(PlannedShot(shot, SKIP, f"{why} (--only-failed)", report))
        elif is_done(report, shot, job):
            planned.append(PlannedShot(shot, SKIP, "done", report))
        else:
            planned.append(PlannedShot(shot, RUN, _why_run(report, shot, job), report))
    return planned
