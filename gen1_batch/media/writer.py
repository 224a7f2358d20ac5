"""Encoding with PyAV: review and editorial movies, compositing sequences.

The edit is cropped off the working canvas and resized back to the source's size one frame at a
time while encoding; frame count, rate, numbering and start timecode follow the source range.
A movie shows like its source: a source with a display matrix gets its frames turned back to the
stored orientation and the same matrix (so ffprobe shows the same size and rotation), and one with
irregular timing keeps each frame's timestamp. An image sequence holds the picture upright and
has no timestamps: a variable-frame-rate source is written to one only when re-timing is accepted.
Every file is written locally, then committed to its final URL through a temporary key.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage
from gen1_batch.media import orientation
from gen1_batch.media.canvas import Canvas, crop
from gen1_batch.media.colour import srgb16_to_linear
from gen1_batch.media.headers import exr_with_timecode
from gen1_batch.media.reader import MediaError, VideoInfo
from gen1_batch.media.sequence import Sequence, frames_on_disk, output_sequence, parse
from gen1_batch.media.timecode import offset

MOVIE_START = 1001  # sequences made from a movie are numbered from here, the studio habit


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str
    codec: str
    pix_fmt: str
    bit_depth: int
    options: dict[str, str]
    sequence: bool = False


FORMATS: dict[str, OutputFormat] = {
    # H.264 for review: plays in browsers and every editing suite.
    "mp4": OutputFormat("mp4", ".mp4", "libx264", "yuv420p", 8, {"crf": "16", "preset": "medium"}),
    # ProRes 422 HQ (profile 3) for editorial.
    "prores": OutputFormat("prores", ".mov", "prores_ks", "yuv422p10le", 10, {"profile": "3", "vendor": "apl0"}),
    # Sequences for compositing: 16-bit PNG, half-float EXR (scene-linear).
    "png": OutputFormat("png", ".png", "png", "rgb48be", 16, {}, sequence=True),
    "exr": OutputFormat("exr", ".exr", "exr", "gbrpf32le", 16, {"format": "half", "compression": "zip1"},
                        sequence=True),
}
OUTPUT_FORMATS = tuple(FORMATS)


def output_name(shot_id: str, output_format: str) -> str:
    """The file (or sequence pattern) a shot's edit is written to, inside its folder."""
    f = FORMATS[output_format]
    return f"{shot_id}.####{f.extension}" if f.sequence else shot_id + f.extension


def check_timing(info: VideoInfo, output_format: str, retime: bool) -> None:
    """Refuse (MediaError) to re-time a variable-frame-rate source to a constant rate, unless
    `retime` accepts it: only movies keep timestamps."""
    durations = info.frame_durations_ms()
    if durations and FORMATS[output_format].sequence and not retime:
        raise MediaError(f"{info.url}: variable frame rate (frames last {durations[0]:.1f} to {durations[1]:.1f} ms); "
                         f"an image sequence ({output_format}) has no timestamps to keep: write mp4 or prores, or set "
                         f"retime (--retime) to accept frames at a constant {info.fps} fps")


def _source_frames(frames: np.ndarray, layout: Canvas, width: int, height: int, pix_fmt: str,
                   matrix: list[int] | None = None) -> Iterator[av.VideoFrame]:
    """Canvas frames cropped to their content, turned back to the orientation the display matrix
    `matrix` shows upright, and resized to width×height, one at a time."""
    for image in crop(frames, layout):
        stored = np.ascontiguousarray(orientation.to_stored(image, matrix))
        frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
        yield frame.reformat(width=width, height=height, format=pix_fmt, interpolation="BICUBIC")


def _exr_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A 16-bit display-referred RGB frame as scene-linear float, what EXR holds."""
    linear = srgb16_to_linear(frame.to_ndarray())
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(linear, dtype=np.float32), format="gbrpf32le")


def write_movie(frames: np.ndarray, url: str, info: VideoInfo, output_format: str = "mp4") -> dict[str, Any]:
    """Encode canvas frames as a movie at the source's size, rate and start timecode; commit to `url`."""
    f = FORMATS[output_format]
    pix_fmt = f.pix_fmt
    if output_format == "mp4" and (info.width % 2 or info.height % 2):
        pix_fmt = "yuv444p"  # 4:2:0 needs even sizes; an odd-sized source keeps its exact size
    if output_format == "prores" and info.width % 2:
        raise ValueError(f"ProRes 422 needs an even width; the source is {info.width} wide (use mp4 or exr)")
    with tempfile.TemporaryDirectory(prefix="gen1-encode-") as tmp:
        local = os.path.join(tmp, "out" + f.extension)
        count = 0
        with av.open(local, mode="w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream(f.codec, rate=info.rate)
            stream.width, stream.height, stream.pix_fmt = info.width, info.height, pix_fmt
            stamps = info.timestamps
            # Irregular timing: each frame keeps its time and how long it holds (the last one too).
            # Without B-frames, packets come in presentation order and the last one ends the track.
            stream.options = {**f.options, "bf": "0"} if stamps and f.codec == "libx264" else f.options
            holds = {start: end - start for start, end in itertools.pairwise(stamps)} if stamps else {}
            if stamps:
                stream.codec_context.time_base = Fraction(info.time_base)
            if info.timecode:
                stream.metadata["timecode"] = info.timecode
            if info.display_matrix:
                stream.set_display_matrix(info.display_matrix)

            def mux(packets: list[av.Packet]) -> None:
                for packet in packets:
                    packet.duration = holds.get(packet.pts, packet.duration)
                container.mux(packets)

            for frame in _source_frames(frames, info.layout, info.width, info.height, pix_fmt, info.display_matrix):
                frame.pts = stamps[count] if stamps else count
                mux(stream.encode(frame))
                count += 1
            mux(stream.encode())
        size = os.path.getsize(local)
        storage.put_file_atomic(local, url)
    return {"url": url, "format": output_format, "codec": f.codec, "pix_fmt": pix_fmt, "bit_depth": f.bit_depth,
            "width": info.width, "height": info.height, "fps": str(info.rate), "frames": count,
            "timecode": info.timecode, "timing": "source" if stamps else "constant",
            "display_matrix": info.display_matrix, "bytes": size}


def write_sequence(frames: np.ndarray, target: Sequence, info: VideoInfo, output_format: str,
                   remove_stale: bool = False) -> dict[str, Any]:
    """Encode canvas frames as numbered images at the source's size: a sequence source keeps its
    numbers, a movie's frames are numbered from 1001. Each file is committed on its own; the shot's
    report, written after, marks the sequence complete.

    `remove_stale` removes the target's other frames, which would read as part of the new sequence:
    only for a folder that holds nothing but this writer's output (a shot's own folder, which
    gen1_batch.safety keeps free of sources); anywhere else they are left alone."""
    f = FORMATS[output_format]
    first = info.frame_start if info.kind == "sequence" else MOVIE_START
    numbers = range(first, first + len(frames))
    width, height = info.display_size  # images have no display matrix: they hold the picture upright
    fs, folder = storage.filesystem(target.directory)
    total = 0
    with tempfile.TemporaryDirectory(prefix="gen1-encode-") as tmp:
        pattern = os.path.join(tmp, f"frame.%0{target.padding}d{f.extension}")
        with av.open(pattern, mode="w", format="image2", options={"start_number": str(first)}) as container:
            stream = container.add_stream(f.codec, rate=info.rate)
            stream.width, stream.height, stream.pix_fmt = width, height, f.pix_fmt
            stream.options = f.options
            source_fmt = "rgb48le" if output_format == "exr" else f.pix_fmt
            for i, frame in enumerate(_source_frames(frames, info.layout, width, height, source_fmt)):
                frame = _exr_frame(frame) if output_format == "exr" else frame
                frame.pts = i
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        for i, number in enumerate(numbers):
            local = pattern % number
            if output_format == "exr" and info.timecode:
                with open(local, "rb") as fh:
                    data = exr_with_timecode(fh.read(), offset(info.timecode, i, info.rate))
                with open(local, "wb") as fh:
                    fh.write(data)
            total += os.path.getsize(local)
            storage.put_file_atomic(local, target.path(number))
    if remove_stale:  # frames an earlier run wrote outside this range
        for number in set(frames_on_disk(target)) - set(numbers):
            fs.rm(f"{folder.rstrip('/')}/{target.name(number)}")
    return {"url": target.pattern(), "format": output_format, "codec": f.codec, "pix_fmt": f.pix_fmt,
            "bit_depth": f.bit_depth, "float": output_format == "exr", "width": width, "height": height,
            "fps": str(info.rate), "frames": len(numbers), "frame_start": numbers[0], "frame_end": numbers[-1],
            "timecode": info.timecode if output_format == "exr" else None, "timing": "constant", "bytes": total}


def write_output(frames: np.ndarray, folder: str, shot_id: str, info: VideoInfo,
                 output_format: str = "mp4") -> dict[str, Any]:
    """A shot's edit in its own folder, named after the shot (see `output_name`); a sequence's frames
    of an earlier run outside the new range are removed."""
    f = FORMATS[output_format]
    if f.sequence:
        target = output_sequence(folder, shot_id, f.extension, info.padding or 4)
        return write_sequence(frames, target, info, output_format, remove_stale=True)
    return write_movie(frames, storage.join(folder, output_name(shot_id, output_format)), info, output_format)


def write_video(frames: np.ndarray, url: str, fps: Fraction | str | int, output_format: str = "mp4",
                timecode: str | None = None, first_frame: int = MOVIE_START) -> dict[str, Any]:
    """Encode uint8 f×h×w×3 frames at their own size (no canvas): for synthetic clips, tests and tools.
    A sequence format takes a pattern URL (`plate.####.exr`) and numbers from `first_frame`."""
    f = FORMATS[output_format]
    height, width = frames.shape[1:3]
    info = VideoInfo(url=url, kind="sequence" if f.sequence else "movie", codec="", width=width, height=height,
                     fps=str(Fraction(fps)), frame_start=first_frame, frame_end=first_frame + len(frames) - 1,
                     frames=len(frames), pix_fmt="rgb24", bit_depth=8, float_pixels=False, timecode=timecode,
                     canvas=Canvas(width, height, width, height).to_dict())
    if f.sequence:
        return write_sequence(frames, parse(url), info, output_format)
    return write_movie(frames, url, info, output_format)
