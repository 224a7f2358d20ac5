"""report.json: one per shot, written last; its presence marks the shot as finished.

Resume reads it back: a shot is skipped when its report says succeeded with the same resolved
parameters and the same model key (`is_done`), its sources still have the fingerprints it
recorded, and its files are there with the sizes it recorded (see gen1_batch.fingerprint).
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

from gen1_batch import __version__, storage
from gen1_batch.config import JobConfig
from gen1_batch.media.damage import describe
from gen1_batch.media.reader import VideoInfo
from gen1_batch.model.loading import combined_fingerprint
from gen1_batch.shot import Shot

SCHEMA_VERSION = 3  # 2: metrics, artifacts, model.random_parts; 3: sources, files
REPORT_NAME = "report.json"
SUCCEEDED, FAILED = "succeeded", "failed"


def shot_folder(output: str, shot_id: str) -> str:
    return storage.join(output, shot_id)


def report_url(output: str, shot_id: str) -> str:
    return storage.join(output, shot_id, REPORT_NAME)


def model_section(job: JobConfig, fingerprints: dict[str, str]) -> dict[str, Any]:
    from gen1_batch.model.presets.registry import PRESETS

    random_parts = job.model.random_weights
    preset = PRESETS.get(job.model.spec)
    return {
        **job.model.to_dict(),
        "about": preset.description if preset else None,  # a preset says what it is and what it learned from
        "fingerprint": combined_fingerprint(fingerprints) if fingerprints else None,
        "components": fingerprints,
        # Said plainly: an output from untrained weights is not an edit anyone should review as one.
        "random_weights": bool(random_parts),
        "random_parts": random_parts,
        "weights": "random" if "all" in random_parts else "partly random" if random_parts else "trained",
    }


def media_notes(damaged_frames: str, video: dict[str, Any] | None, output: dict[str, Any] | None) -> list[str]:
    """What a supervisor must know about an edit that succeeded: source frames that were replaced
    (as `damaged_frames` says), a variable frame rate and what the output did with it."""
    if not video or not output:
        return []
    info, notes = VideoInfo.from_dict(video), []
    if info.damaged_frames:
        instead = "the nearest good frame" if damaged_frames == "nearest" else "black"
        notes.append(f"damaged source {describe(info.damaged_frames)}: replaced with {instead}")
    durations = info.frame_durations_ms()
    if durations:
        kept = "kept the source's timestamps" if output.get("timing") == "source" else \
            f"re-timed to a constant {info.fps} fps"
        notes.append(f"variable frame rate (frames last {durations[0]:.1f} to {durations[1]:.1f} ms): the output "
                     f"{kept}")
    return notes


def shot_report(*, shot: Shot, job: JobConfig, error: dict[str, str] | None, video: dict[str, Any] | None,
                output: dict[str, Any] | None, seconds: dict[str, float], fingerprints: dict[str, str],
                sampling: dict[str, Any] | None, metrics: dict[str, Any] | None = None,
                artifacts: dict[str, str] | None = None, sources: dict[str, Any] | None = None,
                files: list[dict[str, Any]] | None = None,
                timeline: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "shot_id": shot.shot_id,
        "status": FAILED if error else SUCCEEDED,
        "error": error,
        "input": video or None,
        "sources": sources or None,  # video and image prompt with their fingerprints, taken before decoding
        "params": shot.params(),
        "params_hash": shot.params_hash(),
        "seed": shot.seed,
        "model": model_section(job, fingerprints),
        "sampling": sampling or None,
        "metrics": metrics or None,
        "seconds": {**{k: round(v, 4) for k, v in seconds.items()}, "total": round(sum(seconds.values()), 4)},
        "output": output,
        "notes": media_notes(shot.damaged_frames, video, output) if not error else [],  # terminal and pages
        "artifacts": artifacts or {},  # report pictures and the playable clip, beside the output
        "files": files or [],  # every file of the shot's folder but this report: name and bytes as written
        "timeline": timeline or {},  # when each stage finished with the shot (Unix seconds)
        "job": {"manifest": job.manifest, "output": job.output, "gen1_version": __version__,
                "host": socket.gethostname()},
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# Sections that are objects when present; what reads a report (summary, index, resume) relies on it.
_OBJECT_SECTIONS = ("error", "input", "params", "model", "sampling", "metrics", "seconds", "output", "artifacts")


def report_problem(report: Any) -> str | None:
    """Why a report.json's content is not a shot report (None when it is one)."""
    if not isinstance(report, dict):
        return f"not a JSON object but {type(report).__name__}"
    if not isinstance(report.get("shot_id"), str):
        return "no shot_id"
    if report.get("status") not in (SUCCEEDED, FAILED):
        return f"status is {report['status']!r}, not {SUCCEEDED} or {FAILED}" if "status" in report else "no status"
    wrong = [key for key in _OBJECT_SECTIONS if report.get(key) is not None and not isinstance(report[key], dict)]
    return f"{', '.join(wrong)} not an object" if wrong else None


def read_report(output: str, shot_id: str) -> dict[str, Any] | None:
    """The shot's report, or None when there is none (or it cannot be read, or is not a shot report:
    then the shot re-runs)."""
    try:
        report = storage.read_json(report_url(output, shot_id))
    except (FileNotFoundError, ValueError, OSError):
        return None
    return None if report_problem(report) else report


def is_done(report: dict[str, Any] | None, shot: Shot, job: JobConfig) -> bool:
    return bool(
        report
        and report.get("status") == SUCCEEDED
        and report.get("params_hash") == shot.params_hash()
        and (report.get("model") or {}).get("key") == job.model.key
        and (report.get("sampling") or {}).get("max_batch") == job.clips_per_call
        and recorded_config_id(report) == job.colour_config_id
    )


def recorded_config_id(report: dict[str, Any]) -> str | None:
    """The OCIO config a report's shot was edited through (its input's colour), or None."""
    return ((report.get("input") or {}).get("colour") or {}).get("config_id")
