"""Timelines in and out, through OpenTimelineIO: a manifest row for each clip of an edit (.otio, CMX 3600
.edl, Final Cut Pro .xml/.fcpxml), and that edit back with each clip pointing at its shot's edit.

A clip's source range is in its media's time (a movie's timecode, a sequence's frame numbers, or 0 at
the first frame); a shot's frame_start/frame_end are the source's own frame numbers (from 0 in a movie,
the file numbers of a sequence). `ClipMedia` maps one to the other, in whole frames, so the edited
timeline's clips keep their source ranges exactly and their edits cover them frame for frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import opentimelineio as otio

from gen1_batch import storage
from gen1_batch.errors import ShotError, describe
from gen1_batch.manifest import resolve_path
from gen1_batch.media import sequence
from gen1_batch.media.timecode import parse_rate
from gen1_batch.shot import shot_id_problem

# Timeline formats by suffix: OTIO's own, and those of the OTIO adapter packages (pyproject.toml).
ADAPTERS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml"}
EDL_RATE = 24  # what the CMX 3600 adapter assumes; an EDL does not state its rate
GEN1 = "gen1"  # the metadata key of what a run says about a clip


class TimelineError(ShotError):
    """A timeline, or one of its clips, that cannot become shots or take their edits: one line naming it."""


# ---------------------------------------------------------------------------------------------- reading


def read_timeline(url: str) -> otio.schema.Timeline:
    """The timeline in `url` (any fsspec store). An EDL, which does not state its rate, is read at the
    rate of its first clip's movie (24 when that cannot be read), the same way every time."""
    suffix = next((s for s in ADAPTERS if url.lower().endswith(s)), None)
    if suffix is None:
        raise TimelineError(f"{url}: unknown timeline format; use one of {', '.join(ADAPTERS)}")
    try:
        text = storage.read_bytes(url).decode("utf-8-sig")
    except FileNotFoundError:
        raise TimelineError(f"{url}: file not found") from None
    except UnicodeDecodeError as e:
        raise TimelineError(f"{url}: not UTF-8 text (byte 0x{e.object[e.start]:02x}), not a timeline") from None
    except OSError as e:
        raise TimelineError(describe(e, url)) from None
    timeline = _parse(text, url, suffix)
    if ADAPTERS[suffix] == "cmx_3600":
        rate = _first_movie_rate(timeline, url)
        if rate is not None and rate != EDL_RATE:
            timeline = _parse(text, url, suffix, rate)
    return timeline


def _parse(text: str, url: str, suffix: str, rate: Fraction | None = None) -> otio.schema.Timeline:
    options = {"rate": float(rate or EDL_RATE)} if ADAPTERS[suffix] == "cmx_3600" else {}
    try:
        found = otio.adapters.read_from_string(text, ADAPTERS[suffix], **options)
    except Exception as e:  # each adapter fails its own way; any of them means "not readable"
        raise TimelineError(f"{url}: not a readable {suffix[1:]} timeline ({describe(e)})") from None
    if isinstance(found, otio.schema.Timeline):
        return found
    timelines = list(found.find_children(descended_from_type=otio.schema.Timeline)) \
        if isinstance(found, otio.schema.SerializableCollection) else []
    if len(timelines) != 1:
        raise TimelineError(f"{url}: holds {len(timelines)} timelines; export the one to edit on its own")
    return timelines[0]


def _first_movie_rate(timeline: otio.schema.Timeline, url: str) -> Fraction | None:
    from gen1_batch.media.reader import probe

    for clip in video_clips(timeline):
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            path = resolve_path(_local(ref.target_url), url)
            if not sequence.is_sequence(path):
                try:
                    return parse_rate(probe(path)["fps"])
                except (ShotError, OSError, TypeError, ValueError):
                    return None  # the clip's own line says what is wrong with it
    return None


def video_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    """The timeline's video clips in order (track by track, then in time): clip N of a `timeline` column."""
    return [clip for track in timeline.video_tracks() for clip in track.find_clips()]


def clip_label(number: int, clip: otio.schema.Clip) -> str:
    return f"clip {number} {clip.name!r}" if clip.name else f"clip {number}"


@dataclass(frozen=True)
class ClipMedia:
    """A clip's media and how its time maps to the media's own frame numbers."""

    path: str  # a movie, or a sequence as a %0Nd pattern; absolute or a URL
    first: int  # the media's first frame number (0 for a movie, the first file's number for a sequence)
    start: otio.opentime.RationalTime  # the media time of frame `first`
    last: int | None  # the last frame number, when known
    rate: Fraction  # exact frames per second of the media time
    sequence: bool

    def frame(self, time: otio.opentime.RationalTime) -> int:
        """The frame number shown at `time` (in media time)."""
        return self.first + round(time.value_rescaled_to(self.start.rate) - self.start.value)

    def time(self, frame: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(self.start.value + frame - self.first, self.start.rate)

    def frames(self, first: int, last: int) -> otio.opentime.TimeRange:
        """Frames first..last (inclusive) as a media time range."""
        return otio.opentime.TimeRange(self.time(first), otio.opentime.RationalTime(last - first + 1,
                                                                                    self.start.rate))


def _local(url: str) -> str:
    return otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url


def clip_media(number: int, clip: otio.schema.Clip, timeline_url: str) -> ClipMedia | None:
    """Where clip `number`'s media is and how its time counts frames; None for a generator (black,
    bars), which has no media to edit. Media without an available range is opened for its timecode and
    length."""
    ref = clip.media_reference
    label = clip_label(number, clip)
    if isinstance(ref, otio.schema.GeneratorReference):
        return None
    rate_of_clip = clip.trimmed_range().start_time.rate
    if isinstance(ref, otio.schema.ImageSequenceReference):
        folder = resolve_path(_local(ref.target_url_base or "."), timeline_url)
        path = storage.join(folder, f"{ref.name_prefix}%0{max(ref.frame_zero_padding, 1)}d{ref.name_suffix}")
        rate = parse_rate(ref.rate)
        available = ref.available_range
        start = available.start_time if available else otio.opentime.RationalTime(ref.start_frame, float(rate))
        last = ref.end_frame() if available else None
        return ClipMedia(path, ref.start_frame, start, last, rate, True)
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        raise TimelineError(f"{label}: has no media ({type(ref).__name__}); link it to its file in the edit")
    path = resolve_path(_local(ref.target_url), timeline_url)
    is_sequence = sequence.is_sequence(path)
    available = ref.available_range
    if available is not None and not is_sequence:  # what an NLE writes: no need to open the media
        last = round(available.duration.value) - 1
        return ClipMedia(path, 0, available.start_time, last, parse_rate(available.start_time.rate), False)
    from gen1_batch.media.reader import probe, read_video

    try:
        header = probe(path)
        first = header["first_frame"]
        _, info = read_video(path, first, first, size=(8, 8), multiple=8)
    except (ShotError, OSError) as e:
        raise TimelineError(f"{label}: {describe(e, path)}") from None
    rate = parse_rate(rate_of_clip)  # the timeline's time counts frames at its own rate
    if available is not None:
        start = available.start_time
    elif info.timecode:  # an EDL's source times are the media's timecode
        start = otio.opentime.from_timecode(info.timecode, float(rate))
    else:
        start = otio.opentime.RationalTime(first if is_sequence else 0, float(rate))
    start = otio.opentime.RationalTime(round(start.value_rescaled_to(rate_of_clip)), rate_of_clip)
    frames = header.get("header_frames")
    return ClipMedia(path, first, start, first + frames - 1 if frames else None, rate if is_sequence else info.rate,
                     is_sequence)


# -------------------------------------------------------------------------------------------- shot ids


def safe_shot_ids(names: Iterable[str]) -> list[str]:
    """A shot id for each clip name: made safe as a folder name by the schema's rule (shot_id_problem),
    and unique ignoring case ("sh010", "sh010_2", …)."""
    taken: set[str] = set()
    ids = []
    for number, name in enumerate(names, start=1):
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "").strip("._-")[:120].rstrip(".") or f"clip{number:03d}"
        if shot_id_problem(base):  # a job file's name, a Windows device name: keep it, made different
            base = f"clip_{base}"
        if shot_id_problem(base):  # what no prefix mends (the mark of unfinished files): the clip's number
            base = f"clip{number:03d}"
        shot_id, n = base, 1
        while shot_id.lower() in taken:
            n += 1
            shot_id = f"{base}_{n}"
        taken.add(shot_id.lower())
        ids.append(shot_id)
    return ids


# --------------------------------------------------------------------------------------------- the rows


def clip_row(number: int, clip: otio.schema.Clip, media: ClipMedia, handles: int) -> dict[str, Any]:
    """A manifest row's media columns for a clip: its source range and `handles` frames either side
    (as far as the media goes), and the timecode of the first of them."""
    used = clip.trimmed_range()
    first = media.frame(used.start_time)
    last = media.frame(used.end_time_exclusive()) - 1
    start, end = max(first - handles, media.first), last + handles
    if media.last is not None:
        end = min(end, media.last)
    row: dict[str, Any] = {"video": media.path, "frame_start": start, "frame_end": end}
    if media.time(start).value >= 0:
        row["timecode"] = otio.opentime.to_timecode(media.time(start), media.start.rate)
    if media.sequence:
        row["fps"] = str(media.rate)
    return row


def timeline_rows(timeline: otio.schema.Timeline, timeline_url: str, handles: int,
                  content: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """One manifest row per video clip with media: (rows, problems, notes), each problem and note one
    line naming the clip. `content`: the prompt and/or image_prompt every row gets."""
    clips = video_clips(timeline)
    rows, problems, notes = [], [], []
    ids = iter(safe_shot_ids(clip.name for clip in clips))
    for number, clip in enumerate(clips, start=1):
        shot_id = next(ids)
        try:
            media = clip_media(number, clip, timeline_url)
        except TimelineError as e:
            problems.append(str(e))
            continue
        if media is None:
            notes.append(f"{clip_label(number, clip)}: a generator ({clip.media_reference.generator_kind}), "
                         "not media: left out")
            continue
        rows.append({"shot_id": shot_id, **content, **clip_row(number, clip, media, handles),
                     "timeline": f"{timeline_url}#{number}"})
    if not clips:
        problems.append(f"{timeline_url}: has no video clips")
    return rows, problems, notes


# ------------------------------------------------------------------------------------ the edit, back


def edit_reference(output: Mapping[str, Any], available: otio.opentime.TimeRange) -> otio.core.MediaReference:
    """A reference to a shot's edit (its report's `output`: a url, and frame_start for a sequence) whose
    media time is `available`."""
    url = output["url"]
    target = url if storage.is_url(url) else otio.url_utils.url_from_filepath(url)
    if output.get("frame_start") is None:
        return otio.schema.ExternalReference(target_url=target, available_range=available)
    seq = sequence.parse(url)
    base = seq.directory if storage.is_url(seq.directory) else otio.url_utils.url_from_filepath(seq.directory)
    return otio.schema.ImageSequenceReference(
        target_url_base=base.rstrip("/") + "/", name_prefix=seq.head, name_suffix=seq.tail,
        start_frame=output["frame_start"], frame_step=1, rate=available.start_time.rate,
        frame_zero_padding=seq.padding, available_range=available)


def _mark(clip: otio.core.Item, status: str, why: str, shot_id: str) -> None:
    clip.metadata[GEN1] = {"shot_id": shot_id, "status": status, "reason": why}
    clip.markers.append(otio.schema.Marker(name=f"gen1 {status}: {shot_id}", marked_range=clip.trimmed_range(),
                                           color=otio.schema.MarkerColor.RED, comment=why))


def edited_timeline(timeline: otio.schema.Timeline, timeline_url: str,
                    shots: Mapping[int, tuple[str, Mapping[str, Any] | None]]) -> otio.schema.Timeline:
    """A copy of `timeline` in which clip N of `shots` ({N: (shot_id, report or None)}) plays its
    shot's edit at the same record and source range; the source stays its "source" reference. A clip
    whose shot failed, did not run, or whose edit does not cover it keeps its source, with a red
    marker and metadata saying why."""
    edited = timeline.deepcopy()
    edited.name = f"{timeline.name or 'timeline'} (gen1 edits)"
    clips = video_clips(edited)
    for number, (shot_id, report) in sorted(shots.items()):
        if number > len(clips):
            continue  # the timeline changed since the manifest was made; nothing to point at
        clip = clips[number - 1]
        if report is None:
            _mark(clip, "not run", "no report: the shot has not run yet", shot_id)
            continue
        if report.get("status") != "succeeded":
            error = report.get("error") or {}
            _mark(clip, "failed", f"{error.get('stage', '?')}: {error.get('type', '?')}: "
                                  f"{error.get('message', '')}", shot_id)
            continue
        try:
            media = clip_media(number, clip, timeline_url)
        except TimelineError as e:
            _mark(clip, "not mapped", str(e), shot_id)
            continue
        source = report["input"]
        used = clip.trimmed_range()
        if media.frame(used.start_time) < source["frame_start"] or \
                media.frame(used.end_time_exclusive()) - 1 > source["frame_end"]:
            _mark(clip, "not mapped", f"the edit covers frames {source['frame_start']}-{source['frame_end']}, not "
                                      "the whole clip", shot_id)
            continue
        available = media.frames(source["frame_start"], source["frame_end"])
        original = clip.media_reference
        clip.set_media_references({otio.schema.Clip.DEFAULT_MEDIA_KEY: edit_reference(report["output"], available),
                                   "source": original.deepcopy()}, otio.schema.Clip.DEFAULT_MEDIA_KEY)
        clip.metadata[GEN1] = {"shot_id": shot_id, "status": "succeeded", "fps": str(media.rate),
                               "frame_start": source["frame_start"], "frame_end": source["frame_end"]}
    return edited


# ---------------------------------------------------------------------------------------- for a job


def job_timeline(shots: Iterable[Any]) -> tuple[str, dict[int, str]] | None:
    """The timeline a job's shots come from (manifest.timeline_problems allows one) and {clip N: shot
    id}, or None when no shot names one."""
    clips: dict[int, str] = {}
    url = None
    for shot in shots:
        if shot.timeline:
            url, _, number = shot.timeline.rpartition("#")
            clips[int(number)] = shot.shot_id
    return (url, clips) if url else None


def check_job_timeline(shots: Iterable[Any]) -> str | None:
    """The one-line problem with a job's timeline (unreadable, or shorter than its rows say), or None:
    checked before any work, so the edited timeline can be written after it."""
    found = job_timeline(shots)
    if found is None:
        return None
    url, clips = found
    try:
        count = len(video_clips(read_timeline(url)))
    except TimelineError as e:
        return str(e)
    missing = sorted(n for n in clips if n > count)
    if missing:
        return (f"{url}: has {count} video clip(s), but shot {clips[missing[0]]} is its clip {missing[0]}: the "
                "timeline changed since the manifest was made (gen1 manifest from-timeline makes it again)")
    return None


# ------------------------------------------------------------------------- a manifest without a timeline


def _media_range(media: Mapping[str, Any], sequence: bool, first: int) -> otio.opentime.TimeRange:
    """The frames a report's `output` or `input` holds, in that media's own time: a sequence's frame
    numbers, a movie's timecode, or else frame `first` counted from 0."""
    rate = float(parse_rate(media["fps"]))
    start = (otio.opentime.RationalTime(media["frame_start"], rate) if sequence
             else otio.opentime.from_timecode(media["timecode"], rate) if media.get("timecode")
             else otio.opentime.RationalTime(first, rate))
    return otio.opentime.TimeRange(start, otio.opentime.RationalTime(media["frames"], rate))


def _source_clip(shot_id: str, source: Mapping[str, Any]) -> otio.schema.Clip:
    """The frames of a source a shot edits (its report's `input`), as a clip."""
    sequence = source.get("kind") == "sequence"
    used = _media_range(source, sequence, first=source["frame_start"])
    reference = edit_reference({"url": source["url"], "frame_start": source["frame_start"] if sequence else None},
                               used)
    return otio.schema.Clip(name=shot_id, media_reference=reference, source_range=used)


def manifest_timeline(name: str, shots: Iterable[tuple[str, Mapping[str, Any] | None]]) -> otio.schema.Timeline:
    """The edits of a job whose manifest names no timeline, one clip per shot in manifest order
    ((shot_id, report or None) each): a shot that succeeded plays its edit, its source kept as the
    "source" reference; one that failed plays its source's frames, and one with nothing to show
    (never run, or its source unreadable) is a one-second gap; both with a red marker saying why."""
    timeline = otio.schema.Timeline(name=f"{name} (gen1 edits)")
    track = otio.schema.Track(name="gen1 edits", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for shot_id, report in shots:
        status = (report or {}).get("status")
        source = (report or {}).get("input")
        if status == "succeeded":
            output = report["output"]
            available = _media_range(output, sequence=output.get("frame_start") is not None, first=0)
            clip = otio.schema.Clip(name=shot_id, source_range=available)
            clip.set_media_references({otio.schema.Clip.DEFAULT_MEDIA_KEY: edit_reference(output, available),
                                       "source": _source_clip(shot_id, source).media_reference},
                                      otio.schema.Clip.DEFAULT_MEDIA_KEY)
            clip.metadata[GEN1] = {"shot_id": shot_id, "status": "succeeded", "fps": output["fps"],
                                   "frame_start": source["frame_start"], "frame_end": source["frame_end"]}
            track.append(clip)
            continue
        if report is None:
            why = "no report: the shot has not run yet"
        else:
            error = report.get("error") or {}
            why = f"{error.get('stage', '?')}: {error.get('type', '?')}: {error.get('message', '')}"
        item = (_source_clip(shot_id, source) if source and source.get("frames")
                else otio.schema.Gap(duration=otio.opentime.RationalTime(24, 24)))
        item.name = shot_id
        _mark(item, "failed" if report else "not run", why, shot_id)
        track.append(item)
    return timeline


def write_job_edited_timeline(shots: Iterable[Any], output: str) -> tuple[str, int]:
    """Write {output}/edited.otio from the shots' reports: the manifest's timeline with each clip on
    its edit when its shots name one, else the shots in manifest order (manifest_timeline).
    Returns its URL and how many clips play an edit."""
    from gen1_batch.layout import EDITED_TIMELINE_NAME
    from gen1_batch.report.schema import read_report

    shots = list(shots)
    found = job_timeline(shots)
    if found is None:
        name = storage.basename(output.rstrip("/")) or "job"
        edited = manifest_timeline(name, [(s.shot_id, read_report(output, s.shot_id)) for s in shots])
    else:
        url, clips = found
        edited = edited_timeline(read_timeline(url), url,
                                 {n: (shot_id, read_report(output, shot_id)) for n, shot_id in clips.items()})
    target = storage.join(output, EDITED_TIMELINE_NAME)
    storage.write_bytes_atomic(target, otio.adapters.write_to_string(edited, "otio_json").encode())
    return target, sum(clip.metadata.get(GEN1, {}).get("status") == "succeeded" for clip in video_clips(edited))
