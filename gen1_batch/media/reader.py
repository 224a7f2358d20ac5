"""Decoding with PyAV: movies and image sequences, exact frame ranges, streamed onto the working canvas.

A shot is never held at source resolution: each decoded frame is brought to the canvas at once.
Frames are exact: a frame the decoder drops, fails on or flags corrupt is reported by its number,
never skipped (or, as the shot's `damaged_frames` says, replaced in place: see media.damage).
A movie's frames are numbered by their packets' timestamps, so a damaged frame keeps its place.
Colour is managed (media.colour): each frame reaches the models as the job's OCIO view shows it.
Sequence frames (EXR, DPX, TIFF, PNG) are read by OpenImageIO (media.plates).
A movie with a display matrix (a phone clip) is turned upright for the models (media.orientation).

A file that ends early fails the shot, naming the missing frames. Containers state their length in
different ways, and each is checked the way it states it:
  * mov/mp4: the sample table counts the frames; every one must be in the file.
  * avi: the stream header's length, in frame periods (null "repeat" frames included: tree.avi's
    444 periods hold 68 pictures). The data must reach it, unless the file's RIFF chunks end where
    the file does: then the file is whole and only its header overstates the length.
  * mxf: the track's duration; matroska/webm: the track's DURATION tag, or the segment's duration
    when the video is the file's only stream. The data must reach it (within half a frame).
  * anything else (MPEG-TS, raw streams) states no length: it is what it holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage
from gen1_batch.errors import ShotError
from gen1_batch.media import canvas as canvases
from gen1_batch.media import orientation, plates
from gen1_batch.media import sequence as sequences
from gen1_batch.media.colour import Colour, is_identity, to_codes, to_view
from gen1_batch.media.damage import describe, fill
from gen1_batch.media.files import MediaError
from gen1_batch.media.timecode import offset

DEFAULT_SEQUENCE_RATE = Fraction(24)


@dataclass(frozen=True)
class VideoInfo:
    """What a shot's source range is: the writer reproduces its frames, rate, size and timecode."""

    url: str  # the movie, or the sequence's pattern
    kind: str  # movie | sequence
    codec: str
    width: int
    height: int
    fps: str  # exact rational, "24000/1001"
    frame_start: int  # the source's own numbers: from 0 in a movie, the file numbers of a sequence
    frame_end: int  # inclusive
    frames: int
    pix_fmt: str
    bit_depth: int
    float_pixels: bool
    timecode: str | None  # of the first frame of the range
    canvas: dict[str, int] = field(default_factory=dict)  # the working canvas (see media.canvas)
    padding: int | None = None  # digits of a sequence's frame numbers
    irregular_timing: bool = False  # a movie whose frames are not evenly spaced in time
    display_matrix: list[int] | None = None  # a movie's display matrix (media.orientation); None: upright
    time_base: str | None = None  # of `timestamps`
    # Irregular timing only: each frame's start from the first one's, then the last one's end.
    timestamps: list[int] | None = None
    damaged_frames: list[int] = field(default_factory=list)  # replaced ones (damaged_frames nearest or black)
    colour: dict[str, Any] | None = None  # media.colour.Colour: config, the source's colourspace, display, view
    pixel_aspect: float = 1.0
    template: str | None = None  # a sequence's first good frame: the layout of frames written after it
    plate_layout: dict[str, Any] | None = None  # a plate's parts, tiles, compression and windows (media.plates)

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def layout(self) -> canvases.Canvas:
        return canvases.Canvas(**self.canvas)

    @property
    def colour_path(self) -> Colour:
        """How the pixels were brought to the models (the default for the source when not recorded)."""
        return Colour(**{k: self.colour[k] for k in Colour.__dataclass_fields__}) if self.colour \
            else Colour.resolve(None, None, None, self.url)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as players show the picture; width and height are as stored."""
        return orientation.display_size(self.width, self.height, self.display_matrix)

    def frame_durations_ms(self) -> tuple[float, float] | None:
        """The shortest and longest frame, in milliseconds, of a source with irregular timing."""
        if not self.timestamps or not self.time_base:
            return None
        gaps = np.diff(self.timestamps) * float(Fraction(self.time_base)) * 1000
        return float(gaps.min()), float(gaps.max())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fps_float": round(float(self.rate), 6),
                "display_rotation": orientation.rotation(self.display_matrix)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoInfo:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def working_size(width: int, height: int, want_width: int | None, want_height: int | None, side: int,
                 multiple: int = 8) -> tuple[int, int]:
    """The canvas size a source gets (see media.canvas.fit)."""
    c = canvases.fit(width, height, want_width, want_height, side, multiple)
    return c.width, c.height


# --------------------------------------------------------------------------------------------- pixels

def bit_depth(frame: av.VideoFrame) -> tuple[int, bool]:
    """Bits per component, and whether they are floating point."""
    return frame.format.components[0].bits, any(kind in frame.format.name for kind in ("f16", "f32"))


def in_view(frame: av.VideoFrame, colour: Colour) -> av.VideoFrame:
    """A movie frame as the view shows it (untouched when the movie is in the view's colourspace)."""
    if is_identity(colour):
        return frame
    rgb = frame.to_ndarray(format="rgb48le").astype(np.float32) / 65535
    return av.VideoFrame.from_ndarray(to_codes(to_view(rgb, colour)), format="rgb24")


def plate_frame(pixels: np.ndarray, colour: Colour) -> av.VideoFrame:
    """A plate's float pixels as the view shows them, in 8-bit codes (what the models take)."""
    return av.VideoFrame.from_ndarray(to_codes(to_view(pixels, colour)), format="rgb24")


def frame_to_canvas(frame: av.VideoFrame, layout: canvases.Canvas, matrix: list[int] | None = None) -> np.ndarray:
    """One decoded frame as uint8 RGB on the working canvas, upright as its display matrix says."""
    width, height = orientation.display_size(layout.content_width, layout.content_height, matrix)  # as stored
    rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
    return canvases.pad(np.ascontiguousarray(orientation.to_display(rgb, matrix)), layout)


# --------------------------------------------------------------------------------------------- movies


def _open(url: str) -> av.container.InputContainer:
    try:
        if storage.is_url(url) and not url.startswith("file://"):
            return av.open(storage.open_input(url), mode="r")
        return av.open(url.removeprefix("file://"), mode="r")
    except storage.StorageError as e:
        raise MediaError(str(e)) from None
    except FileNotFoundError:
        raise MediaError(f"{url}: file not found") from None
    except av.error.FFmpegError as e:
        raise MediaError(f"{url}: not a readable video ({e.strerror or e})") from None
    except OSError as e:
        raise MediaError(f"{url}: cannot open ({e})") from None


def _video_stream(container: av.container.InputContainer, url: str) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError(f"{url}: has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.codec:
        raise MediaError(f"{url}: unsupported video codec")
    if not stream.codec_context.width or not stream.codec_context.height:
        raise MediaError(f"{url}: the video stream has no frame size (unsupported or damaged)")
    # A damaged frame must fail, not come out concealed (FFmpeg hides what errors it can by default).
    stream.codec_context.options = {"err_detect": "explode"}
    return stream


def _rate(stream: av.video.stream.VideoStream, url: str) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise MediaError(f"{url}: the video stream has no frame rate")
    return Fraction(rate.numerator, rate.denominator)


def _movie_timecode(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> str | None:
    for metadata in (stream.metadata, container.metadata, *(s.metadata for s in container.streams)):
        if metadata.get("timecode"):
            return metadata["timecode"]
    return None


class _Damaged(Exception):
    """The fast pass met a damaged frame: the exact pass then tells which frames are damaged."""


class _Timeline:
    """A movie stream's pictures as its packets announce them, numbered in presentation order (by
    timestamp), so that a picture the decoder never delivers keeps its number."""

    def __init__(self) -> None:
        self.pending: list[int] = []  # timestamps of demuxed pictures not numbered yet (a heap)
        self.waiting: set[int] = set()
        self.durations: dict[int, int] = {}  # timestamp -> the packet's duration (0: not stated)
        self.times: list[int] = []  # the timestamp of each number
        self.packets = 0  # pictures in the file, discarded ones included (what a sample table counts)
        self.errors: dict[int | None, str] = {}  # decoder errors, by the timestamp of the packet sent
        self.read_error: str | None = None
        self._untimed = 0

    def add(self, packet: av.Packet) -> int | None:
        """Count a demuxed packet; returns its picture's timestamp (None: no picture to number)."""
        if not packet.size:
            return None
        self.packets += 1
        if packet.is_discard:  # before an edit list's start: decoded for reference, never shown
            return None
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:  # a raw stream without timestamps: pictures keep their decoding order
            pts, self._untimed = self._untimed, self._untimed + 1
        heapq.heappush(self.pending, pts)
        self.waiting.add(pts)
        self.durations[pts] = packet.duration or 0
        return pts

    def _next(self) -> int:
        pts = heapq.heappop(self.pending)
        self.waiting.discard(pts)
        self.times.append(pts)
        return len(self.times) - 1

    def deliver(self, frame: av.VideoFrame, exact: bool) -> Iterator[tuple[int, av.VideoFrame | None]]:
        """Number a decoded picture; pictures announced before it and never delivered are damaged."""
        if not self.pending:
            return  # a picture no packet announced
        pts = frame.pts if frame.pts in self.waiting else self.pending[0]
        while self.pending[0] < pts:
            if not exact:
                raise _Damaged
            yield self._next(), None
        damaged = frame.is_corrupt or pts in self.errors
        if damaged and not exact:
            raise _Damaged
        yield self._next(), None if damaged else frame

    def undelivered(self, exact: bool) -> Iterator[tuple[int, None]]:
        while self.pending:
            if not exact:
                raise _Damaged
            yield self._next(), None

    def irregular(self, first: int, last: int, step: Fraction) -> bool:
        """Whether frames first..last (and the one after, if read) are not evenly spaced in time."""
        gaps = np.diff(np.array(self.times[first: last + 2], dtype=np.float64))
        return bool(step and gaps.size and np.abs(gaps - float(step)).max() > 0.5 * float(step))

    def data_end(self, step: Fraction) -> int:
        """The timestamp where the last picture read ends (a packet without a duration lasts `step`)."""
        return max(t + (d or round(step)) for t, d in self.durations.items())


def _pictures(container: av.container.InputContainer, stream: av.video.stream.VideoStream, timeline: _Timeline,
              exact: bool) -> Iterator[tuple[int, av.VideoFrame | None]]:
    """Every picture in presentation order with its number; None for a damaged one.

    The fast pass (frame threads) raises _Damaged at the first sign of damage. The exact pass
    decodes without frame threads, so that an error belongs to the packet just sent, and yields
    None for each damaged picture.
    """
    stream.thread_type = "SLICE" if exact else "AUTO"
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as e:  # the file cannot be read further (cut short, I/O error)
            timeline.read_error = e.strerror or str(e)
            packet = None  # flush what the decoder holds
        pts = timeline.add(packet) if packet is not None else None
        try:
            frames = stream.decode(packet)
        except av.error.FFmpegError as e:
            if not exact:
                raise _Damaged from None
            timeline.errors[pts] = e.strerror or str(e)
            frames = []
        for frame in frames:
            yield from timeline.deliver(frame, exact)
        if packet is None:
            break
    yield from timeline.undelivered(exact)


def _stated_length(container: av.container.InputContainer, stream: av.video.stream.VideoStream
                   ) -> tuple[str, Fraction, str] | None:
    """How long the container says the stream is (see the module's docstring): ("frames", count,
    where) or ("seconds", duration, where); None where it does not say."""
    name, time_base = container.format.name.split(",")[0], stream.time_base
    if name == "mov" and stream.frames:
        return "frames", Fraction(stream.frames), "its sample table"
    if name == "avi" and stream.frames and time_base:  # AVI timestamps count frame periods
        return "seconds", stream.frames * time_base, "its AVI header"
    if name == "mxf" and stream.duration and time_base:
        return "seconds", stream.duration * time_base, "its MXF track duration"
    if name == "matroska":
        tag = stream.metadata.get("DURATION")
        if tag and tag.count(":") == 2:
            hours, minutes, seconds = tag.split(":")
            return "seconds", int(hours) * 3600 + int(minutes) * 60 + Fraction(seconds), "its DURATION tag"
        if container.duration and len(container.streams) == 1:
            return "seconds", Fraction(container.duration, av.time_base), "its segment duration"
    return None


def _riff_cut(url: str) -> bool:
    """Whether an AVI's RIFF chunks (each states its size; files over 1 GB chain several) run past
    the end of the file: the file was cut short, not merely given a header that overstates."""
    fs, path = storage.filesystem(url)
    size, at = fs.size(path), 0
    with fs.open(path, "rb") as f:
        while at + 8 <= size:
            f.seek(at)
            head = f.read(8)
            if head[:4] != b"RIFF":
                break
            at += 8 + int.from_bytes(head[4:8], "little")
    return at > size


def _shortfall(url: str, container: av.container.InputContainer, stream: av.video.stream.VideoStream,
               timeline: _Timeline, rate: Fraction) -> str | None:
    """Why a file read to its end holds less than its container says, naming the missing frames."""
    stated = _stated_length(container, stream)
    if stated is None or not timeline.times:
        return None
    kind, length, where = stated
    first = len(timeline.times)  # the first missing frame's number
    if kind == "frames":
        missing = int(length) - timeline.packets
        if missing <= 0:
            return None
        return f"{describe(range(first, first + missing))} missing: the file ends early ({where} lists {length})"
    time_base = stream.time_base
    step = 1 / (rate * time_base)
    data_end = (timeline.data_end(step) - (stream.start_time or 0)) * time_base
    if data_end >= length - 1 / (2 * rate) or (container.format.name == "avi" and not _riff_cut(url)):
        return None
    if timeline.irregular(0, first - 1, step):  # frames hold for uneven times: their number is unknown
        missing = f"frames {first} and later are missing"
    else:  # at a constant rate, the stated length is a number of frames
        missing = f"{describe(range(first, max(first + 1, round(length * rate))))} missing"
    return f"{missing}: the file ends early (its pictures end at {float(data_end):.2f} s, {where} says " \
           f"{float(length):.2f} s)"


def _read_movie(url: str, frame_start: int | None, frame_end: int | None, want: tuple[int | None, int | None],
                side: int, multiple: int, timecode: str | None, damaged_frames: str, colour: Colour
                ) -> tuple[np.ndarray, VideoInfo]:
    args = (url, frame_start or 0, frame_end, want, side, multiple, timecode, damaged_frames, colour)
    try:
        return _decode_movie(*args, exact=False)
    except _Damaged:  # rare: decode again, exactly, to tell which frames are damaged
        return _decode_movie(*args, exact=True)


def _decode_movie(url: str, start: int, end: int | None, want: tuple[int | None, int | None], side: int,
                  multiple: int, timecode: str | None, mode: str, colour: Colour, exact: bool
                  ) -> tuple[np.ndarray, VideoInfo]:
    def to_canvas(frame: av.VideoFrame, layout: canvases.Canvas, matrix: list[int] | None) -> np.ndarray:
        return frame_to_canvas(in_view(frame, colour), layout, matrix)

    with _open(url) as container:
        stream = _video_stream(container, url)
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = _rate(stream, url)
        source_timecode = _movie_timecode(container, stream)
        timeline = _Timeline()
        frames: dict[int, np.ndarray] = {}  # canvas frames of the range, and neighbours `nearest` takes from
        damaged: list[int] = []
        first: av.VideoFrame | None = None  # the first good picture: the format and display matrix
        before: tuple[int, av.VideoFrame] | None = None  # the last good picture before the range
        layout, matrix, reached_end = None, None, False
        for number, frame in _pictures(container, stream, timeline, exact):
            if frame is not None and first is None:
                first, matrix = frame, orientation.frame_matrix(frame)
                try:
                    orientation.check(matrix)
                except ShotError as e:
                    raise MediaError(f"{url}: {e}") from None
                layout = canvases.fit(*orientation.display_size(width, height, matrix), *want, side=side,
                                      multiple=multiple)
            if number < start:
                before = (number, frame) if frame is not None else before
            elif end is None or number <= end:
                if frame is None:
                    damaged.append(number)
                elif not (damaged and mode == "fail"):  # a shot that fails needs no more pixels
                    frames[number] = to_canvas(frame, layout, matrix)
            elif mode == "nearest" and damaged and damaged[-1] > max(frames, default=-1):
                if frame is not None:  # the good frame nearest to the damaged ones at the range's end
                    frames[number] = to_canvas(frame, layout, matrix)
                    reached_end = True
                    break
            else:
                reached_end = True
                break
        numbered = len(timeline.times)
        if not reached_end:
            shortfall = _shortfall(url, container, stream, timeline, rate)
            if shortfall:
                raise MediaError(f"{url}: {shortfall}")
        codec, time_base = stream.codec_context.name, stream.time_base

    if not reached_end:
        if timeline.read_error:
            raise MediaError(f"{url}: cannot be read after frame {numbered - 1} ({timeline.read_error})")
        if numbered == 0:
            raise MediaError(f"{url}: no frames could be decoded")
        if start >= numbered:
            raise MediaError(f"{url}: frame_start {start} is past the last frame ({numbered - 1})")
        if end is not None and end >= numbered:
            raise MediaError(f"{url}: frame_end {end} is past the last frame ({numbered - 1})")
    last = end if end is not None else numbered - 1
    if damaged and (mode == "fail" or first is None):
        error = next(iter(timeline.errors.values()), None)
        remedy = "; none of its frames decodes" if first is None else \
            "; damaged_frames (--damaged-frames) nearest or black replaces them"
        raise MediaError(f"{url}: {describe(damaged)} cannot be decoded" + (f" ({error})" if error else "") + remedy)
    if before and damaged and mode == "nearest":
        frames[before[0]] = to_canvas(before[1], layout, matrix)
    stacked, damaged = fill(range(start, last + 1), frames, mode)

    step = 1 / (rate * time_base) if time_base else Fraction(0)
    irregular = timeline.irregular(start, last, step)
    times = timeline.times
    if source_timecode:  # the timecode counts frames of the stated rate from the first picture
        frames_in = round((times[start] - times[0]) / step) if irregular else start
        timecode = offset(source_timecode, frames_in, rate)
    stamps = None
    if irregular:
        end_time = times[last + 1] if last + 1 < numbered else times[last] + \
            (timeline.durations[times[last]] or round(step))
        stamps = [int(t - times[start]) for t in [*times[start: last + 1], end_time]]
    (depth, is_float), pix_fmt = bit_depth(first), first.format.name
    info = VideoInfo(url=url, kind="movie", codec=codec, width=width, height=height, fps=str(rate),
                     frame_start=start, frame_end=last, frames=len(stacked), pix_fmt=pix_fmt, bit_depth=depth,
                     float_pixels=is_float, timecode=timecode, canvas=layout.to_dict(), irregular_timing=irregular,
                     display_matrix=matrix, time_base=str(time_base) if irregular else None, timestamps=stamps,
                     damaged_frames=damaged, colour=colour.to_dict())
    return stacked, info


# ------------------------------------------------------------------------------------------ sequences


def _sequence_frame(path: str, number: int, first: plates.Plate | None) -> plates.Plate:
    """One frame file (media.plates); a MediaError naming the file if it is missing, empty, unreadable
    or of another size than the sequence's first frame."""
    try:
        plate = plates.read_plate(path)
    except plates.PlateError as e:
        raise MediaError(str(e).replace(": cannot be decoded", f": frame {number} cannot be decoded", 1)) from None
    height, width = plate.pixels.shape[:2]
    if first is not None and plate.pixels.shape != first.pixels.shape:
        raise MediaError(f"{path}: frame {number} is {width}x{height}, but the sequence starts at "
                         f"{first.pixels.shape[1]}x{first.pixels.shape[0]}")
    return plate


def _read_sequence(url: str, frame_start: int | None, frame_end: int | None, want: tuple[int | None, int | None],
                   side: int, multiple: int, rate: Fraction | None, timecode: str | None, damaged_frames: str,
                   colour: Colour) -> tuple[np.ndarray, VideoInfo]:
    try:
        seq = sequences.parse(url)
        numbers = sequences.frame_range(seq, frame_start, frame_end, allow_missing=damaged_frames != "fail")
    except (ShotError, storage.StorageError) as e:
        raise MediaError(str(e)) from None
    frames: dict[int, np.ndarray] = {}
    layout = first = None
    template = None
    for number in numbers:
        try:
            plate = _sequence_frame(seq.path(number), number, first)
        except MediaError:
            if damaged_frames == "fail":
                raise
            continue  # damaged: replaced below
        if first is None:
            first, template = plate, seq.path(number)
            colour = colour.with_header(plate.colorspace)
            height, width = plate.pixels.shape[:2]
            layout = canvases.fit(width, height, *want, side=side, multiple=multiple)
            rate = rate or plate.rate or DEFAULT_SEQUENCE_RATE  # the fps column, else the header's
            found = plate.timecode
            if found and number != numbers[0]:  # the range's first frame is damaged: count back to it
                try:
                    found = offset(found, numbers[0] - number, rate)
                except ValueError:  # before 00:00:00:00: there is no such timecode
                    found = None
            timecode = found or timecode
        frames[number] = frame_to_canvas(plate_frame(plate.pixels, colour), layout)
    if first is None:
        raise MediaError(f"{seq.pattern()}: none of {describe(numbers)} can be read")
    stacked, damaged = fill(range(numbers[0], numbers[-1] + 1), frames, damaged_frames)
    height, width = first.pixels.shape[:2]
    info = VideoInfo(url=seq.pattern(), kind="sequence", codec=seq.extension[1:], width=width, height=height,
                     fps=str(rate), frame_start=numbers[0], frame_end=numbers[-1], frames=len(numbers),
                     pix_fmt=first.pixel_type, bit_depth=first.bit_depth, float_pixels=first.float_pixels,
                     timecode=timecode, canvas=layout.to_dict(), padding=seq.padding, damaged_frames=damaged,
                     colour=colour.to_dict(), pixel_aspect=first.pixel_aspect, template=template,
                     plate_layout=first.layout)
    return stacked, info


# ---------------------------------------------------------------------------------------------- entry


def read_video(url: str, frame_start: int | None = None, frame_end: int | None = None,
               size: tuple[int | None, int | None] | None = None, side: int = 512, multiple: int = 8,
               fps: Fraction | None = None, timecode: str | None = None,
               damaged_frames: str = "fail", colour: Colour | None = None) -> tuple[np.ndarray, VideoInfo]:
    """Decode frames [frame_start, frame_end] (inclusive, in the source's own numbers) as uint8
    f×h×w×3 on the working canvas, upright.

    `url` is a movie or an image-sequence pattern. `size` is the wanted working (width, height),
    either may be None (see media.canvas.fit). `fps` and `timecode` are used where the media
    carries none (a sequence's rate; a source without timecode). `damaged_frames` (fail, nearest,
    black) says what becomes of a damaged frame (see media.damage). `colour` says the source's
    colourspace and the view the models see (default: the default config's, by the source's format).
    """
    want = size or (None, None)
    colour = colour or Colour.resolve(None, None, None, url)
    if sequences.is_sequence(url):
        return _read_sequence(url, frame_start, frame_end, want, side, multiple, fps, timecode, damaged_frames,
                              colour)
    return _read_movie(url, frame_start, frame_end, want, side, multiple, timecode, damaged_frames, colour)


def probe(url: str) -> dict[str, Any]:
    """Header facts (for --dry-run): size as shown, rate, codec and the frame count. A movie's first
    frame is decoded for its display matrix; nothing else is."""
    if sequences.is_sequence(url):
        seq = sequences.parse(url)
        numbers = list(seq.frames) if seq.frames else sequences.frames_on_disk(seq)
        if not numbers:
            raise MediaError(f"{seq.pattern()}: no frames found")
        try:
            plate = plates.read_plate(seq.path(numbers[0]))
        except plates.PlateError as e:
            raise MediaError(str(e)) from None
        return {"url": seq.pattern(), "codec": seq.extension[1:], "width": plate.pixels.shape[1],
                "height": plate.pixels.shape[0], "fps": str(plate.rate) if plate.rate else None,
                "header_frames": len(numbers), "first_frame": numbers[0]}
    with _open(url) as container:
        stream = _video_stream(container, url)
        try:
            matrix = orientation.frame_matrix(next(container.decode(stream)))
        except (StopIteration, av.error.FFmpegError):
            matrix = None  # reading the shot says what is wrong
        width, height = orientation.display_size(stream.codec_context.width, stream.codec_context.height, matrix)
        return {"url": url, "codec": stream.codec_context.name, "width": width, "height": height,
                "fps": str(_rate(stream, url)), "header_frames": stream.frames or None, "first_frame": 0}
