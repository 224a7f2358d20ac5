"""Which shots a run does: finished shots are skipped.

A shot is finished when its report says succeeded with the same parameters and model, every file
the report lists is there with the size it recorded, and its sources still have the fingerprints
it recorded. On object storage each check is a request, so shots are checked in parallel.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gen1_batch import storage
from gen1_batch.config import JobConfig
from gen1_batch.errors import describe
from gen1_batch.fingerprint import changed_files, changed_source
from gen1_batch.report.schema import FAILED, SUCCEEDED, is_done, read_report, shot_folder
from gen1_batch.shot import Shot

RUN, SKIP = "run", "skip"


@dataclass(frozen=True)
class PlannedShot:
    shot: Shot
    action: str  # run | skip
    reason: str
    previous: dict[str, Any] | None  # the report an earlier run left, if any


CHECKERS = 32  # parallel requests


def read_reports(output: str, shot_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """Existing reports, read in parallel (on object storage each is a request)."""
    with ThreadPoolExecutor(max_workers=CHECKERS) as pool:
        return dict(zip(shot_ids, pool.map(lambda sid: read_report(output, sid), shot_ids), strict=True))


def why_stale(report: dict[str, Any], shot: Shot, job: JobConfig) -> str | None:
    """Why a report that says done cannot be trusted (a file gone or changed, a source replaced), or None."""
    return (changed_files(shot_folder(job.output, shot.shot_id), report.get("files"), shot.shot_id)
            or changed_source(shot, report.get("sources")))


def _why_run(report: dict[str, Any] | None, shot: Shot, job: JobConfig) -> str:
    if report is None:
        return "new"
    if report.get("status") == FAILED:
        return "failed before"
    if report.get("params_hash") != shot.params_hash():
        return "parameters changed"
    if (report.get("model") or {}).get("key") != job.model.key:
        return "model changed"
    if (report.get("sampling") or {}).get("max_batch") != job.clips_per_call:
        return "--max-batch changed (the edit's last bits depend on it)"
    return "OCIO config changed (frames reach the models through it)"


def plan_shots(shots: list[Shot], job: JobConfig, force: bool = False, only_failed: bool = False) -> list[PlannedShot]:
    if force and only_failed:
        raise ValueError("--force and --only-failed exclude each other")
    previous = read_reports(job.output, [s.shot_id for s in shots])
    # Reports that say done are checked against the store: their files, and their sources.
    done = [s for s in shots if not force and not only_failed and is_done(previous[s.shot_id], s, job)]
    with ThreadPoolExecutor(max_workers=CHECKERS) as pool:
        doubts = dict(zip([s.shot_id for s in done], pool.map(lambda s: why_stale(previous[s.shot_id], s, job), done),
                         strict=True))
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
        elif shot.shot_id in doubts:
            why = doubts[shot.shot_id]
            planned.append(PlannedShot(shot, RUN, why, report) if why else PlannedShot(shot, SKIP, "done", report))
        else:
            planned.append(PlannedShot(shot, RUN, _why_run(report, shot, job), report))
    return planned


def plan_rows(planned: list[PlannedShot], job: JobConfig) -> list[dict[str, Any]]:
    """What `--dry-run` shows of each shot: its action and why, and for a shot to edit its frames,
    source and working sizes and windows, from the source's header (no model is loaded)."""
    from gen1_batch.media import output_name, probe, working_size
    from gen1_batch.model.windows import describe_plan
    from gen1_batch.stages.models import shot_window

    settings = job.model.settings

    def plan_row(p: PlannedShot) -> dict[str, Any]:
        shot = p.shot
        row: dict[str, Any] = {"shot_id": shot.shot_id, "action": p.action, "reason": p.reason,
                               "output": storage.join(job.output, shot.shot_id,
                                                      output_name(shot.shot_id, shot.output_format))}
        if p.action != RUN:
            return row
        try:
            info = probe(shot.video)
        except Exception as e:
            return {**row, "problem": describe(e, shot.video)}
        frames = info["header_frames"]
        if frames is not None:
            start = shot.frame_start if shot.frame_start is not None else info["first_frame"]
            end = shot.frame_end if shot.frame_end is not None else info["first_frame"] + frames - 1
            frames = max(0, end - start + 1)
        size = working_size(info["width"], info["height"], shot.width, shot.height,
                            side=settings["default_resolution"], multiple=settings["resolution_multiple"])
        row.update(frames=frames, source=f"{info['width']}x{info['height']} @ {info['fps'] or shot.fps or 24}",
                   working=f"{size[0]}x{size[1]}", steps=shot.steps)
        if frames:
            row["windows"] = describe_plan(frames, shot_window(shot), shot.steps)
        return row

    with ThreadPoolExecutor(max_workers=CHECKERS) as pool:
        return list(pool.map(plan_row, planned))
