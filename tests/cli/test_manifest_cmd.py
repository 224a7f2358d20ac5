"""`gen1 manifest from-timeline` and the edited timeline `gen1 run` writes: an editor's cut in, the
same cut out with every clip playing its edit at the same record and source times."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from typer.testing import CliRunner

from gen1_batch.cli import app
from gen1_batch.media.synthetic import write_synthetic_clip
from tests.helpers import gen1

RATE = Fraction(24000, 1001)  # exact: every time below is counted at this rate
HANDLES = 3
R = otio.opentime.RationalTime


def tc_frames(timecode: str) -> int:
    return round(otio.opentime.from_timecode(timecode, float(RATE)).value)


# (clip name, movie, the movie's own timecode, source start as frames after it, duration); the
# first clip's media has its available range (as NLEs write), the others are opened for theirs.
CLIPS = [("sh010", "a.mp4", "01:00:00:00", 5, 6), ("sh 020", "b.mp4", "02:00:00:00", 2, 4),
         ("SH 020", "c.mp4", None, 10, 5)]
MEDIA_FRAMES = 20


def build_timeline(root: Path) -> Path:
    """Three clips of synthesized movies, cut one after the other on a video track, saved as cut.otio."""
    (root / "media").mkdir()
    timeline = otio.schema.Timeline("cut", global_start_time=R(tc_frames("01:00:00:00"), float(RATE)))
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i, (name, movie, timecode, offset, duration) in enumerate(CLIPS):
        write_synthetic_clip(str(root / "media" / movie), MEDIA_FRAMES, 32, 32, RATE, seed=i, timecode=timecode)
        start = tc_frames(timecode) if timecode else 0
        available = otio.opentime.TimeRange(R(start, float(RATE)), R(MEDIA_FRAMES, float(RATE))) if i == 0 else None
        reference = otio.schema.ExternalReference(target_url=f"media/{movie}", available_range=available)
        track.append(otio.schema.Clip(name=name, media_reference=reference, source_range=otio.opentime.TimeRange(
            R(start + offset, float(RATE)), R(duration, float(RATE)))))
    otio.adapters.write_to_file(timeline, str(root / "cut.otio"))
    return root / "cut.otio"


def cli(*args: str, check: int):
    """The command in this process (a run, which starts Ray, goes through `gen1` in its own)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == check, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def rows_of(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A cut made into a manifest with handles and run on the tiny model (one step, 32×32 frames)."""
    root = tmp_path_factory.mktemp("editorial")
    timeline = build_timeline(root)
    made = cli("manifest", "from-timeline", str(timeline), "--prompt", "clay", "--handles", str(HANDLES),
                "--output", str(root / "cut.jsonl"), check=0)
    cli("validate", str(root / "cut.jsonl"), check=0)
    run = gen1("run", str(root / "cut.jsonl"), "--output", str(root / "out"), "--steps", "1", check=0)
    return {"root": root, "timeline": timeline, "made": made, "run": run, "rows": rows_of(root / "cut.jsonl")}


def test_each_clip_becomes_a_shot_with_its_source_range_handles_and_timecode(job):
    rows = job["rows"]
    assert [r["shot_id"] for r in rows] == ["sh010", "sh_020", "SH_020_2"]  # safe, unique ignoring case
    for row, (_, movie, timecode, offset, duration) in zip(rows, CLIPS, strict=True):
        assert row["video"] == str(job["root"] / "media" / movie)  # relative to the timeline
        assert row["frame_start"] == max(offset - HANDLES, 0)
        assert row["frame_end"] == min(offset + duration - 1 + HANDLES, MEDIA_FRAMES - 1)
        first = tc_frames(timecode or "00:00:00:00") + row["frame_start"]
        assert row["timecode"] == otio.opentime.to_timecode(R(first, float(RATE)), float(RATE))
        assert row["prompt"] == "clay"


def test_the_edited_timeline_plays_each_edit_at_the_same_record_and_source_times(job):
    source = otio.adapters.read_from_file(str(job["timeline"]))
    edited = otio.adapters.read_from_file(str(job["root"] / "out" / "edited.otio"))
    assert "edited.otio" in job["run"].stderr
    for before, after, row in zip(source.find_clips(), edited.find_clips(), job["rows"], strict=True):
        assert after.range_in_parent() == before.range_in_parent()  # record
        assert after.source_range == before.source_range
        assert otio.opentime.to_timecode(after.source_range.start_time) == \
            otio.opentime.to_timecode(before.source_range.start_time)
        report = json.loads((job["root"] / "out" / row["shot_id"] / "report.json").read_text())
        edit = after.media_reference
        assert otio.url_utils.filepath_from_url(edit.target_url) == report["output"]["url"]
        assert report["output"]["frames"] == round(edit.available_range.duration.value)
        assert report["output"]["timecode"] == otio.opentime.to_timecode(edit.available_range.start_time)
        assert edit.available_range.contains(after.source_range)  # the edit covers the clip, handles around it
        assert after.media_references()["source"].target_url == before.media_reference.target_url


def test_an_edl_of_the_same_cut_gives_the_same_shots_and_the_same_edited_cut(job):
    from gen1_batch.editorial import edited_timeline, read_timeline
    from gen1_batch.report.schema import read_report

    root = job["root"]
    otio.adapters.write_to_file(otio.adapters.read_from_file(str(job["timeline"])), str(root / "cut.edl"))
    cli("manifest", "from-timeline", str(root / "cut.edl"), "--prompt", "clay", "--handles", str(HANDLES),
         "--output", str(root / "edl.jsonl"), check=0)
    rows = rows_of(root / "edl.jsonl")
    assert [{**r, "timeline": None} for r in rows] == [{**r, "timeline": None} for r in job["rows"]]

    edl = read_timeline(str(root / "cut.edl"))
    reports = {n: (r["shot_id"], read_report(str(root / "out"), r["shot_id"])) for n, r in enumerate(rows, 1)}
    edited = edited_timeline(edl, str(root / "cut.edl"), reports)
    for before, after in zip(edl.find_clips(), edited.find_clips(), strict=True):
        record = after.range_in_parent()
        assert record == before.range_in_parent() and after.source_range == before.source_range
        assert otio.opentime.to_timecode(record.start_time) == otio.opentime.to_timecode(
            before.range_in_parent().start_time)
        assert after.media_reference.target_url.endswith(".mp4") and "/out/" in after.media_reference.target_url


def test_a_final_cut_pro_xml_of_the_same_cut_gives_the_same_shots_and_the_same_edited_cut(job):
    from gen1_batch.editorial import edited_timeline, read_timeline
    from gen1_batch.report.schema import read_report

    root = job["root"]
    cut = otio.adapters.read_from_file(str(job["timeline"]))
    for clip, (_, movie, timecode, _, _) in zip(cut.find_clips(), CLIPS, strict=True):  # as an NLE exports it:
        clip.media_reference.target_url = otio.url_utils.url_from_filepath(str(root / "media" / movie))
        clip.media_reference.available_range = otio.opentime.TimeRange(   # file paths, timecode and length
            R(tc_frames(timecode) if timecode else 0, float(RATE)), R(MEDIA_FRAMES, float(RATE)))
    otio.adapters.write_to_file(cut, str(root / "cut.xml"))
    cli("manifest", "from-timeline", str(root / "cut.xml"), "--prompt", "clay", "--handles", str(HANDLES),
         "--output", str(root / "xml.jsonl"), check=0)
    rows = rows_of(root / "xml.jsonl")
    assert [{**r, "timeline": None} for r in rows] == [{**r, "timeline": None} for r in job["rows"]]

    xml = read_timeline(str(root / "cut.xml"))
    reports = {n: (r["shot_id"], read_report(str(root / "out"), r["shot_id"])) for n, r in enumerate(rows, 1)}
    edited = edited_timeline(xml, str(root / "cut.xml"), reports)
    for before, after in zip(xml.find_clips(), edited.find_clips(), strict=True):
        assert after.range_in_parent() == before.range_in_parent() and after.source_range == before.source_range
        assert after.media_reference.target_url.endswith(".mp4") and "/out/" in after.media_reference.target_url
        assert after.metadata["gen1"]["status"] == "succeeded"


def test_a_run_refuses_a_manifest_whose_timeline_is_gone_before_any_work(job, tmp_path):
    manifest = tmp_path / "gone.jsonl"
    rows = [{**r, "timeline": str(tmp_path / "gone.otio#1")} for r in job["rows"][:1]]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli("run", str(manifest), "--output", str(tmp_path / "out"), check=2)
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'gone.otio'}: file not found"]
    assert not (tmp_path / "out" / rows[0]["shot_id"]).exists()


EDL_WITHOUT_MEDIA = """TITLE: cut

001  AX       V     C        01:00:00:05 01:00:00:11 00:00:00:00 00:00:00:06
* FROM CLIP NAME: sh010
"""


@pytest.mark.parametrize(("name", "content", "says"), [
    ("cut.otio", '{"OTIO_SCHEMA": "Timeline.1", "tracks": 3}', "cut.otio: not a readable otio timeline"),
    ("cut.edl", "TITLE: x\n001 garbage\n", "cut.edl: not a readable edl timeline"),
    ("cut.xml", "<xmeml><sequence>", "cut.xml: not a readable xml timeline"),
    ("cut.edl", b"\xff\xfe\x00binary", "cut.edl: not UTF-8 text"),
    ("cut.txt", "", "cut.txt: unknown timeline format"),
    ("missing.otio", None, "missing.otio: file not found"),
    ("cut.edl", EDL_WITHOUT_MEDIA, "clip 1 'sh010': has no media (MissingReference)"),
])
def test_a_timeline_that_cannot_become_shots_gets_one_line_naming_it_and_no_manifest(tmp_path, name, content, says):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("manifest", "from-timeline", str(path), "--prompt", "x", "--output", str(tmp_path / "m.jsonl"),
                  check=2)
    lines = [line for line in result.stderr.strip().splitlines() if says in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "m.jsonl").exists()


def test_without_a_prompt_nothing_is_written(tmp_path):
    timeline = tmp_path / "cut.edl"
    timeline.write_text(EDL_WITHOUT_MEDIA)
    result = cli("manifest", "from-timeline", str(timeline), "--output", str(tmp_path / "m.jsonl"), check=2)
    assert "--prompt" in result.stderr and not (tmp_path / "m.jsonl").exists()
