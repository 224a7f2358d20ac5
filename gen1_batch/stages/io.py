"""The CPU stages at both ends: decode (source video and reference image in) and write (video and report out)."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from fractions import Fraction
from typing import Any

from gen1_batch import storage
from gen1_batch.config import JobConfig
from gen1_batch.errors import describe as describe_error
from gen1_batch.fingerprint import record_files, shot_sources
from gen1_batch.media import check_timing, read_image, read_video, write_output
from gen1_batch.media.preview import write_artifacts
from gen1_batch.report.html import SHOT_PAGE, shot_page
from gen1_batch.report.schema import REPORT_NAME, shot_folder, shot_report
from gen1_batch.stages.row import Batch, ShotRow, batch_of, report_columns, rows_of, run_stage, shots_of


def decode(batch: Batch, *, job: JobConfig) -> Batch:
    """Frames of the shot's range at the working size, and its reference image. Takes the dataflow's
    input (the shots alone) and gives each shot its ShotRow."""
    settings = job.model.settings

    def process(row: ShotRow) -> ShotRow:
        shot = row.shot
        # Before reading: a source replaced while this shot runs then differs from its report next time.
        sources = shot_sources(shot)
        frames, info = read_video(shot.video, shot.frame_start, shot.frame_end, size=(shot.width, shot.height),
                                  side=settings["default_resolution"], multiple=settings["resolution_multiple"],
                                  fps=Fraction(shot.fps) if shot.fps else None, timecode=shot.timecode,
                                  damaged_frames=shot.damaged_frames)
        check_timing(info, shot.output_format, shot.retime)  # before the edit, not after it
        reference = read_image(shot.image_prompt) if shot.image_prompt else row.reference
        return replace(row, frames=frames, video_info=info, sources=sources, reference=reference)

    return run_stage("decode", batch_of([ShotRow(shot).to_columns() for shot in shots_of(batch)]), process)


def write(batch: Batch, *, job: JobConfig) -> Batch:
    """Encode the edit at the source's size and rate, then the report (last: it marks the shot done).

    Returns only small columns: shot_id, status and the report as JSON (row.report_columns).
    """
    return batch_of([report_columns(write_shot(row, job)) for row in rows_of(batch)])


def write_shot(row: ShotRow, job: JobConfig) -> dict[str, Any]:
    """Write one shot's edit, pictures, page and report; returns the report."""
    shot = row.shot
    folder = shot_folder(job.output, shot.shot_id)
    output, seconds = None, 0.0
    if row.error is None:
        start = time.perf_counter()
        try:
            if row.video_info is None:
                raise RuntimeError(f"shot {shot.shot_id} reached the write stage undecoded")
            storage.remove_stale_temporaries(folder)
            output = write_output(row.edited, folder, shot.shot_id, row.video_info, shot.output_format)
        except Exception as error:
            row = row.failed("write", error)
        seconds = time.perf_counter() - start
    artifacts, artifact_error = {}, None
    try:
        artifacts = write_pictures(folder, row, output)
    except Exception as e:  # a report picture that cannot be made must not fail a finished edit
        artifact_error = describe_error(e)
    row = row.finished("write", seconds)
    video = row.video_info.to_dict() if row.video_info else None
    report = shot_report(
        shot=shot, job=job, error=asdict(row.error) if row.error else None, video=video, output=output,
        seconds=row.seconds, fingerprints=row.fingerprints, sampling=row.sampling,
        metrics=row.metrics, artifacts=artifacts, sources=row.sources, timeline=row.timeline,
    )
    if artifact_error:
        report["artifact_error"] = artifact_error
    storage.write_bytes_atomic(storage.join(folder, SHOT_PAGE), shot_page(report, artifacts).encode())
    report["files"] = record_files(folder, output, [*artifacts.values(), SHOT_PAGE])
    storage.write_json_atomic(storage.join(folder, REPORT_NAME), report)  # last: marks the shot done
    return report


def write_pictures(folder: str, row: ShotRow, output: dict[str, Any] | None) -> dict[str, str]:
    """The report's pictures (report.artifacts), from the shot's working-size arrays."""
    info = row.video_info
    if info is None:  # not decoded: nothing to show
        return {}
    return write_artifacts(
        folder, frames=row.frames, depth=row.depth, edited=row.edited if row.edited.size else None,
        reference=row.reference if row.reference.size else None, layout=info.layout, first_frame=info.frame_start,
        fps=info.fps, output_url=output["url"] if output else None, output_format=row.shot.output_format)
