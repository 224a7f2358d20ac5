"""Decoding with PyAV: movies and image sequences, exact frame ranges, streamed onto the working canvas.

A shot is never held at source resolution: each decoded frame is brought to the canvas at once.
Frames are exact: a frame the decoder drops or fails on is reported by its number, never skipped.
Float images (EXR) are scene-linear: they are encoded to sRGB for the models (values above 1 clip).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage
from gen1_batch.errors import ShotError
from gen1_batch.media import canvas as canvases
from gen1_batch.media import sequence as sequences
from gen1_batch.media.headers import header_timecode
from gen1_batch.media.timecode import offset

DEFAULT_SEQUENCE_RATE = Fraction(24)
# Containers whose frame count comes from a sample index, so a shortfall means a damaged file.
_INDEXED_CONTAINERS = ("mov", "mp4")


class MediaError(ShotError):
    """A source that cannot be used; the message names the file and, where known, the frame."""


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

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def layout(self) -> canvases.Canvas:
        return canvases.Canvas(**self.canvas)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fps_float": round(float(self.rate), 6)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoInfo:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def working_size(width: int, height: int, want_width: int | None, want_height: int | None, side: int,
                 multiple: int = 8) -> tuple[int, int]:
    """The canvas size a source gets (see media.canvas.fit)."""
    c = canvases.fit(width, height, want_width, want_height, side, multiple)
    return c.width, c.height


# --------------------------------------------------------------------------------------------- pixels

_FLOAT_PLANES = {"gbrpf16le": (np.float16, 3), "gbrapf16le": (np.float16, 4), "gbrpf32le": (np.float32, 3),
                 "gbrapf32le": (np.float32, 4)}


def bit_depth(frame: av.VideoFrame) -> tuple[int, bool]:
    """Bits per component, and whether they are floating point."""
    return frame.format.components[0].bits, frame.format.name in _FLOAT_PLANES


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def _float_rgb(frame: av.VideoFrame) -> np.ndarray:
    """h×w×3 float32 RGB from a planar float frame, values above 1 kept (swscale would clip them)."""
    dtype, _ = _FLOAT_PLANES[frame.format.name]
    planes = [np.frombuffer(p, dtype=dtype).reshape(frame.height, -1)[:, : frame.width] for p in frame.planes[:3]]
    g, b, r = planes
    return np.stack([r, g, b], axis=-1).astype(np.float32)


def to_canvas(frame: av.VideoFrame, layout: canvases.Canvas) -> np.ndarray:
    """One decoded frame as uint8 RGB on the working canvas."""
    if frame.format.name in _FLOAT_PLANES:
        display = (linear_to_srgb(_float_rgb(frame)) * 255 + 0.5).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(display, format="rgb24")
    rgb = frame.reformat(width=layout.content_width, height=layout.content_height, format="rgb24",
                         interpolation="AREA").to_ndarray()
    return canvases.pad(rgb, layout)


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


def _read_movie(url: str, frame_start: int | None, frame_end: int | None, want: tuple[int | None, int | None],
                side: int, multiple: int, timecode: str | None) -> tuple[np.ndarray, VideoInfo]:
    start = frame_start or 0
    with _open(url) as container:
        stream = _video_stream(container, url)
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = _rate(stream, url)
        layout = canvases.fit(width, height, *want, side=side, multiple=multiple)
        source_timecode = _movie_timecode(container, stream)
        container_name, codec = container.format.name, stream.codec_context.name
        header_frames, time_base = stream.frames or 0, stream.time_base

        frames: list[np.ndarray] = []
        packet_times: list[int] = []  # of every packet holding a picture
        frame_times: list[int] = []
        depth, is_float, pix_fmt = 8, False, stream.codec_context.pix_fmt or ""
        index, reached_end = 0, False
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packet_times.append(packet.pts if packet.pts is not None else packet.dts)
                for frame in packet.decode():
                    if frame_end is not None and index > frame_end:
                        reached_end = True
                        break
                    frame_times.append(frame.pts)
                    if index >= start:
                        if not frames:
                            (depth, is_float), pix_fmt = bit_depth(frame), frame.format.name
                        frames.append(to_canvas(frame, layout))
                    index += 1
                if reached_end:
                    break
        except av.error.FFmpegError as e:
            raise MediaError(f"{url}: frame {index} cannot be decoded ({e.strerror or e})") from None

    if not reached_end:
        if index == 0:
            raise MediaError(f"{url}: no frames could be decoded")
        if index < len(packet_times):
            lost = sorted(set(packet_times) - set(frame_times)) or sorted(packet_times)[index:]
            number = sorted(packet_times).index(lost[0])
            raise MediaError(f"{url}: frame {number} cannot be decoded ({len(packet_times) - index} of "
                             f"{len(packet_times)} frames did not decode)")
        if container_name.split(",")[0] in _INDEXED_CONTAINERS and index < header_frames:
            raise MediaError(f"{url}: truncated or damaged: the index lists {header_frames} frames but only "
                             f"{index} decode; frame {index} is the first missing")
        if start >= index:
            raise MediaError(f"{url}: frame_start {start} is past the last frame ({index - 1})")
        if frame_end is not None and frame_end >= index:
            raise MediaError(f"{url}: frame_end {frame_end} is past the last frame ({index - 1})")

    if source_timecode:
        timecode = offset(source_timecode, start, rate)
    step = 1 / (rate * time_base) if time_base else 0
    gaps = np.diff(np.array([t for t in frame_times if t is not None], dtype=np.float64))
    info = VideoInfo(url=url, kind="movie", codec=codec, width=width, height=height, fps=str(rate),
                     frame_start=start, frame_end=start + len(frames) - 1, frames=len(frames), pix_fmt=pix_fmt,
                     bit_depth=depth, float_pixels=is_float, timecode=timecode, canvas=layout.to_dict(),
                     irregular_timing=bool(step and gaps.size and np.abs(gaps - float(step)).max() > 0.5 * float(step)))
    return np.stack(frames), info


# ------------------------------------------------------------------------------------------ sequences


def _read_sequence(url: str, frame_start: int | None, frame_end: int | None, want: tuple[int | None, int | None],
                   side: int, multiple: int, rate: Fraction, timecode: str | None) -> tuple[np.ndarray, VideoInfo]:
    try:
        seq = sequences.parse(url)
        numbers = sequences.frame_range(seq, frame_start, frame_end)
    except (ShotError, storage.StorageError) as e:
        raise MediaError(str(e)) from None
    demuxer = sequences.SEQUENCE_FORMATS[seq.extension]
    frames: list[np.ndarray] = []
    layout = first = None
    for number in numbers:
        path = seq.path(number)
        try:
            data = storage.read_bytes(path)
        except FileNotFoundError:
            raise MediaError(f"{path}: frame {number} is missing") from None
        except storage.StorageError as e:
            raise MediaError(str(e)) from None
        if not data:
            raise MediaError(f"{path}: frame {number} is an empty file")
        try:
            with av.open(io.BytesIO(data), format=demuxer) as container:
                frame = next(container.decode(video=0))
        except (av.error.FFmpegError, StopIteration) as e:
            raise MediaError(f"{path}: frame {number} cannot be decoded ({getattr(e, 'strerror', '') or e})") from None
        if first is None:
            first = frame
            layout = canvases.fit(frame.width, frame.height, *want, side=side, multiple=multiple)
            timecode = header_timecode(data, seq.extension) or timecode
        elif (frame.width, frame.height) != (first.width, first.height):
            raise MediaError(f"{path}: frame {number} is {frame.width}x{frame.height}, but the sequence starts at "
                             f"{first.width}x{first.height}")
        frames.append(to_canvas(frame, layout))
    depth, is_float = bit_depth(first)
    info = VideoInfo(url=seq.pattern(), kind="sequence", codec=demuxer.removesuffix("_pipe"), width=first.width,
                     height=first.height, fps=str(rate), frame_start=numbers[0], frame_end=numbers[-1],
                     frames=len(numbers), pix_fmt=first.format.name, bit_depth=depth, float_pixels=is_float,
                     timecode=timecode, canvas=layout.to_dict(), padding=seq.padding)
    return np.stack(frames), info


# ---------------------------------------------------------------------------------------------- entry


def read_video(url: str, frame_start: int | None = None, frame_end: int | None = None,
               size: tuple[int | None, int | None] | None = None, side: int = 512, multiple: int = 8,
               fps: Fraction | None = None, timecode: str | None = None) -> tuple[np.ndarray, VideoInfo]:
    """Decode frames [frame_start, frame_end] (inclusive, in the source's own numbers) as uint8
    f×h×w×3 on the working canvas.

    `url` is a movie or an image-sequence pattern. `size` is the wanted working (width, height),
    either may be None (see media.canvas.fit). `fps` and `timecode` are used where the media
    carries none (a sequence's rate; a source without timecode).
    """
    want = size or (None, None)
    if sequences.is_sequence(url):
        return _read_sequence(url, frame_start, frame_end, want, side, multiple, fps or DEFAULT_SEQUENCE_RATE,
                              timecode)
    return _read_movie(url, frame_start, frame_end, want, side, multiple, timecode)


def probe(url: str) -> dict[str, Any]:
    """Header facts without decoding (for --dry-run): size, rate, codec and the frame count."""
    if sequences.is_sequence(url):
        seq = sequences.parse(url)
        numbers = list(seq.frames) if seq.frames else sequences.frames_on_disk(seq)
        if not numbers:
            raise MediaError(f"{seq.pattern()}: no frames found")
        with av.open(io.BytesIO(storage.read_bytes(seq.path(numbers[0]))),
                     format=sequences.SEQUENCE_FORMATS[seq.extension]) as c:
            frame = next(c.decode(video=0))
        return {"url": seq.pattern(), "codec": seq.extension[1:], "width": frame.width, "height": frame.height,
                "fps": None, "header_frames": len(numbers), "first_frame": numbers[0]}
    with _open(url) as container:
        stream = _video_stream(container, url)
        return {"url": url, "codec": stream.codec_context.name, "width": stream.codec_context.width,
                "height": stream.codec_context.height, "fps": str(_rate(stream, url)),
                "header_frames": stream.frames or None, "first_frame": 0}
