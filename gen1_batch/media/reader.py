"""Decoding with PyAV: exact frame ranges, streamed and resized to the working size as they decode.

A shot is never held at source resolution: each decoded frame is converted straight to RGB at the
working size by swscale, so host memory grows with the working-size frames only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage
from gen1_batch.errors import ShotError

# Containers whose frame count comes from a sample index, so a shortfall means a damaged file.
_INDEXED_CONTAINERS = ("mov", "mp4")


class MediaError(ShotError):
    """A source that cannot be used; the message names the file and, where known, the frame."""


@dataclass(frozen=True)
class VideoInfo:
    """What a shot's source range is: the writer reproduces its frame count, rate and size."""

    url: str
    container: str
    codec: str
    width: int
    height: int
    fps: str  # exact rational, "24000/1001"
    frame_start: int
    frame_end: int  # inclusive
    frames: int
    pix_fmt: str

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fps_float": round(float(self.rate), 6)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoInfo:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def working_size(width: int, height: int, want_width: int | None, want_height: int | None,
                 side: int, multiple: int = 8) -> tuple[int, int]:
    """The internal resolution of a shot: as asked, or about side×side pixels keeping the aspect ratio.

    Sizes are rounded to `multiple` (what the autoencoder and UNet need).
    """
    def snap(x: float) -> int:
        return max(multiple, round(x / multiple) * multiple)

    aspect = width / height
    if want_width and want_height:
        return want_width, want_height
    if want_width:
        return want_width, snap(want_width / aspect)
    if want_height:
        return snap(want_height * aspect), want_height
    scale = side / math.sqrt(width * height)
    return snap(width * scale), snap(height * scale)


def _open(url: str) -> av.container.InputContainer:
    try:
        if storage.is_url(url) and not url.startswith("file://"):
            fs, path = storage.filesystem(url)
            return av.open(fs.open(path, "rb"), mode="r")
        return av.open(url.removeprefix("file://"), mode="r")
    except FileNotFoundError:
        raise MediaError(f"{url}: file not found") from None
    except av.error.FFmpegError as e:
        raise MediaError(f"{url}: not a readable video ({e.strerror or e})") from None
    except OSError as e:
        raise MediaError(f"{url}: cannot open ({e})") from None


def _rate(stream: av.video.stream.VideoStream, url: str) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise MediaError(f"{url}: the video stream has no frame rate")
    return Fraction(rate.numerator, rate.denominator)


def probe(url: str) -> dict[str, Any]:
    """Header facts without decoding (for --dry-run): size, rate, codec and the header's frame count."""
    with _open(url) as container:
        if not container.streams.video:
            raise MediaError(f"{url}: has no video stream")
        stream = container.streams.video[0]
        return {
            "url": url,
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "fps": str(_rate(stream, url)),
            "header_frames": stream.frames or None,
        }


def read_video(url: str, frame_start: int | None = None, frame_end: int | None = None,
               size: tuple[int, int] | None = None, side: int = 512, multiple: int = 8
               ) -> tuple[np.ndarray, VideoInfo]:
    """Decode frames [frame_start, frame_end] (inclusive, 0-based) as uint8 f×h×w×3 at the working size.

    `size` is the wanted (width, height), either part may be None; see `working_size`.
    """
    start = frame_start or 0
    with _open(url) as container:
        if not container.streams.video:
            raise MediaError(f"{url}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        if not src_w or not src_h:
            raise MediaError(f"{url}: the video stream has no frame size")
        rate = _rate(stream, url)
        out_w, out_h = working_size(src_w, src_h, *(size or (None, None)), side=side, multiple=multiple)
        header_frames = stream.frames or 0

        container_name = container.format.name
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt or ""
        frames: list[np.ndarray] = []
        index = -1
        reached_end = False  # stopped at frame_end, so the rest of the file is never read
        try:
            for frame in container.decode(stream):
                index += 1
                if frame_end is not None and index > frame_end:
                    reached_end = True
                    break
                if index >= start:
                    frames.append(frame.reformat(width=out_w, height=out_h, format="rgb24",
                                                 interpolation="AREA").to_ndarray())
        except av.error.FFmpegError as e:
            raise MediaError(f"{url}: frame {index + 1} cannot be decoded ({e.strerror or e})") from None

    if not reached_end:
        decoded = index + 1
        if decoded == 0:
            raise MediaError(f"{url}: no frames could be decoded")
        if container_name.split(",")[0] in _INDEXED_CONTAINERS and decoded < header_frames:
            raise MediaError(f"{url}: truncated or damaged: the index lists {header_frames} frames but only "
                             f"{decoded} decode; frame {decoded} is the first missing")
        if start >= decoded:
            raise MediaError(f"{url}: frame_start {start} is past the last frame ({decoded - 1})")
        if frame_end is not None and frame_end >= decoded:
            raise MediaError(f"{url}: frame_end {frame_end} is past the last frame ({decoded - 1})")

    info = VideoInfo(
        url=url,
        container=container_name,
        codec=codec,
        width=src_w,
        height=src_h,
        fps=str(rate),
        frame_start=start,
        frame_end=start + len(frames) - 1,
        frames=len(frames),
        pix_fmt=pix_fmt,
    )
    return np.stack(frames), info
