"""Timelines in and out: shot ids from clip names, and what the edited timeline says of shots that
did not give an edit."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from gen1_batch.editorial import edited_timeline, safe_shot_ids, video_clips
from gen1_batch.shot import shot_id_problem

R = otio.opentime.RationalTime


@pytest.mark.parametrize("names", [
    ["sh010", "sh 010", "sh/010", "SH 010"],  # unsafe characters, and equal ignoring case once made safe
    ["", "   ", "..", "-"],  # nothing usable: numbered
    ["index.html", "summary.json", "edited.otio", "CON", "nul.mov", "a.tmp-1", "b."],  # job files, devices, markers
    ["x" * 300, "x" * 300],  # too long, then equal
])
def test_every_clip_gets_a_safe_shot_id_unique_ignoring_case(names):
    ids = safe_shot_ids(names)
    assert len(ids) == len(names)
    assert [shot_id for shot_id in ids if shot_id_problem(shot_id)] == []
    assert len({shot_id.lower() for shot_id in ids}) == len(ids)


def test_a_clean_clip_name_is_the_shot_id_as_it_is():
    assert safe_shot_ids(["sh010", "SH020_v2", "a.b-c"]) == ["sh010", "SH020_v2", "a.b-c"]


def cut() -> otio.schema.Timeline:
    timeline = otio.schema.Timeline("cut")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    for name in ("sh010", "sh020"):
        reference = otio.schema.ExternalReference(target_url=f"/shows/{name}.mov", available_range=otio.opentime.
                                                  TimeRange(R(86400, 24), R(48, 24)))
        track.append(otio.schema.Clip(name=name, media_reference=reference,
                                      source_range=otio.opentime.TimeRange(R(86410, 24), R(12, 24))))
    return timeline


def test_a_failed_or_unrun_shot_keeps_its_source_with_a_red_marker_saying_why():
    failed = {"status": "failed", "error": {"stage": "decode", "type": "MediaError", "message": "sh010.mov: broken"}}
    edited = edited_timeline(cut(), "/shows/cut.otio", {1: ("sh010", failed), 2: ("sh020", None)})
    for clip, status, why in zip(video_clips(edited), ("failed", "not run"), ("sh010.mov: broken", "no report"),
                                 strict=True):
        assert clip.media_reference.target_url == f"/shows/{clip.name}.mov"
        assert clip.metadata["gen1"]["status"] == status and why in clip.metadata["gen1"]["reason"]
        (marker,) = clip.markers
        assert marker.color == otio.schema.MarkerColor.RED and why in marker.comment
        assert marker.marked_range == clip.source_range


def test_an_edit_that_does_not_cover_its_clip_is_not_put_in_its_place():
    report = {"status": "succeeded", "input": {"frame_start": 10, "frame_end": 15},  # the clip is frames 10-21
              "output": {"url": "/out/sh010/sh010.mp4"}}
    (clip, _) = video_clips(edited_timeline(cut(), "/shows/cut.otio", {1: ("sh010", report)}))
    assert clip.media_reference.target_url == "/shows/sh010.mov"
    assert clip.metadata["gen1"]["status"] == "not mapped" and "10-15" in clip.markers[0].comment


def test_an_edit_sequence_is_referenced_frame_for_frame():
    report = {"status": "succeeded", "input": {"frame_start": 7, "frame_end": 24},
              "output": {"url": "/out/sh010/sh010.####.exr", "frame_start": 1001}}
    (clip, _) = video_clips(edited_timeline(cut(), "/shows/cut.otio", {1: ("sh010", report)}))
    edit = clip.media_reference
    assert isinstance(edit, otio.schema.ImageSequenceReference)
    # the clip's first frame (source frame 10, three after the edit's first) is file 1004
    assert edit.frame_for_time(clip.source_range.start_time) == 1004
    assert edit.target_url_for_image_number(0) == "file:///out/sh010/sh010.1001.exr"
    assert clip.source_range == cut().find_clips()[0].source_range


# ----------------------------------------------------------------------- a manifest without a timeline

MOVIE_IN = {"url": "/plates/dolly.mov", "kind": "movie", "fps": "24000/1001", "frame_start": 10, "frame_end": 45,
            "frames": 36, "timecode": "01:00:10:00"}
SEQUENCE_IN = {"url": "/plates/p.####.exr", "kind": "sequence", "fps": "24", "frame_start": 1003,
               "frame_end": 1010, "frames": 8, "timecode": None}


def test_a_job_without_a_timeline_gets_one_clip_per_shot_in_manifest_order_on_its_edit():
    from gen1_batch.editorial import GEN1, manifest_timeline

    reports = [
        ("sh010", {"status": "succeeded", "input": MOVIE_IN,
                   "output": {"url": "/out/sh010/sh010.mov", "fps": "24000/1001", "frames": 36,
                              "timecode": "01:00:10:00"}}),
        ("sh020", {"status": "succeeded", "input": SEQUENCE_IN,
                   "output": {"url": "/out/sh020/sh020.####.exr", "fps": "24", "frames": 8, "frame_start": 1003,
                              "frame_end": 1010}}),
        ("sh030", {"status": "failed", "input": MOVIE_IN, "error": {"stage": "diffusion", "type": "RuntimeError",
                                                                    "message": "out of memory"}}),
        ("sh040", None),
    ]
    timeline = otio.adapters.read_from_string(otio.adapters.write_to_string(manifest_timeline("job", reports)))
    items = list(timeline.video_tracks()[0])
    assert [i.name for i in items] == ["sh010", "sh020", "sh030", "sh040"]
    movie, plate, failed, missing = items
    assert movie.media_reference.target_url.endswith("/out/sh010/sh010.mov")
    assert movie.media_references()["source"].target_url.endswith("/plates/dolly.mov")
    assert otio.opentime.to_timecode(movie.source_range.start_time) == "01:00:10:00"
    assert movie.source_range.duration.value == 36
    assert plate.media_reference.abstract_target_url(f"{1003:04d}").endswith("/out/sh020/sh020.1003.exr")
    assert (plate.source_range.start_time.value, plate.source_range.duration.value) == (1003, 8)
    assert failed.media_reference.target_url.endswith("/plates/dolly.mov")  # the source, marked
    assert failed.metadata[GEN1]["status"] == "failed" and "out of memory" in failed.markers[0].comment
    assert isinstance(missing, otio.schema.Gap) and missing.metadata[GEN1]["status"] == "not run"
    assert [m.color for i in (failed, missing) for m in i.markers] == [otio.schema.MarkerColor.RED] * 2
