"""The CPU stages at both ends: decode (source video and reference image in) and write (video and report out)."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from typing import Any

import numpy as np

from gen1_batch import storage
from gen1_batch.config import JobConfig
from gen1_batch.fingerprint import record_files, shot_sources
from gen1_batch.manifest import Shot
from gen1_batch.media import VideoInfo, check_timing, read_image, read_video, write_output
from gen1_batch.media.colour import Colour
from gen1_batch.media.preview import write_artifacts
from gen1_batch.report.html import SHOT_PAGE, shot_page
from gen1_batch.report.schema import REPORT_NAME, shot_folder, shot_report
from gen1_batch.stages.common import (
    FAILED,
    OK,
    STAGES,
    batch_of,
    describe_error,
    initial_row,
    mark_time,
    rows_of,
    run_stage,
)


def decode(batch: dict[str, np.ndarray], *, job: JobConfig) -> dict[str, np.ndarray]:
    """Frames of the shot's range at the working size, and its reference image. Takes rows with the
    shot (shot_id, shot) and gives them the layout every later stage shares."""
    settings = job.model.settings
    batch = batch_of([initial_row(str(row["shot"]), str(row["shot_id"])) for row in rows_of(batch)])

    def process(row: dict[str, Any]) -> dict[str, Any]:
        shot = Shot.from_json(row["shot"])
        # Before reading: a source replaced while this shot runs then differs from its report next time.
        sources = json.dumps(shot_sources(shot))
        frames, info = read_video(shot.video, shot.frame_start, shot.frame_end, size=(shot.width, shot.height),
                                  side=settings["default_resolution"], multiple=settings["resolution_multiple"],
                                  fps=Fraction(shot.fps) if shot.fps else None, timecode=shot.timecode,
                                  damaged_frames=shot.damaged_frames,
                                  colour=Colour.resolve(job.ocio, shot.colorspace, shot.view, shot.video))
        check_timing(info, shot.output_format, shot.retime)  # before the edit, not after it
        updates = {"frames": frames, "video_info": json.dumps(info.to_dict()), "sources": sources}
        if shot.image_prompt:
            updates["reference"] = read_image(shot.image_prompt)
        return updates

    return run_stage("decode", batch, process)


def write(batch: dict[str, np.ndarray], *, job: JobConfig) -> dict[str, np.ndarray]:
    """Encode the edit at the source's size and rate, then the report (last: it marks the shot done).

    Returns only small columns: shot_id, status and the report as JSON.
    """
    return batch_of([write_shot(row, job) for row in rows_of(batch)])


def write_shot(row: dict[str, Any], job: JobConfig) -> dict[str, Any]:
    shot = Shot.from_json(row["shot"])
    folder = shot_folder(job.output, shot.shot_id)
    video = json.loads(row["video_info"]) or None
    output = None
    if row["status"] == OK:
        start = time.perf_counter()
        try:
            storage.remove_stale_temporaries(folder)
            output = write_output(row["edited"], folder, shot.shot_id, VideoInfo.from_dict(video), shot.output_format)
        except Exception as error:
            row.update(status=FAILED, error_stage="write", error_type=type(error).__name__,
                       error_message=describe_error(error))
        row["seconds_write"] = time.perf_counter() - start
    error = None
    if row["status"] != OK:
        error = {"stage": str(row["error_stage"]), "type": str(row["error_type"]),
                 "message": str(row["error_message"])}
    artifacts, artifact_error = {}, None
    try:
        if video:
            info = VideoInfo.from_dict(video)
            artifacts = write_artifacts(
                folder, frames=row["frames"], depth=row["depth"], edited=row["edited"] if row["edited"].size else None,
                reference=row["reference"] if row["reference"].size else None, layout=info.layout,
                first_frame=info.frame_start, fps=info.fps, output_url=output["url"] if output else None,
                output_format=shot.output_format)
    except Exception as e:  # a report picture that cannot be made must not fail a finished edit
        artifact_error = describe_error(e)
    report = shot_report(
        shot=shot, job=job, error=error, video=video, output=output,
        seconds={s: float(row[f"seconds_{s}"]) for s in STAGES},
        fingerprints=json.loads(row["fingerprints"]),
        sampling=json.loads(row["sampling"]) or None,
        metrics=json.loads(row["metrics"]) or None,
        artifacts=artifacts,
        sources=json.loads(row["sources"]),
        timeline=json.loads(mark_time(row, "write")),
    )
    if artifact_error:
        report["artifact_error"] = artifact_error
    storage.write_bytes_atomic(storage.join(folder, SHOT_PAGE), shot_page(report, artifacts).encode())
    report["files"] = record_files(folder, output, [*artifacts.values(), SHOT_PAGE])
    storage.write_json_atomic(storage.join(folder, REPORT_NAME), report)  # last: marks the shot done
    return {"shot_id": shot.shot_id, "status": report["status"], "report": json.dumps(report)}
