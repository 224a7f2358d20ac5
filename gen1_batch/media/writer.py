"""Encoding with PyAV: review and editorial movies, compositing sequences.

The edit is cropped off the working canvas and resized back to the source's size one frame at a
time while encoding; frame count, rate, numbering and start timecode follow the source range.
A movie shows like its source: a source with a display matrix gets its frames turned back to the
stored orientation and the same matrix (so ffprobe shows the same size and rotation), and one with
irregular timing keeps each frame's timestamp. An image sequence holds the picture upright and
has no timestamps: a variable-frame-rate source is written to one only when re-timing is accepted.
Colour: the edit, as the job's OCIO view shows it, goes back through the inverse of that view to the
source's colourspace (or, for an integer format and a linear source, stays in the view's display
colourspace: see media.colour.Colour.output_colorspace); movies carry that colourspace's tags.
Sequence frames are written by OpenImageIO (media.plates), after the source frame's layout when
source and output are the same format.
Every file is written locally, then committed to its final URL through a temporary key.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage
from gen1_batch.media import orientation, plates
from gen1_batch.media import sequence as sequences
from gen1_batch.media.canvas import Canvas, crop
from gen1_batch.media.colour import FFMPEG_CODES, Colour, from_view, movie_tags, tag_frame
from gen1_batch.media.formats import FORMATS, output_name
from gen1_batch.media.reader import MediaError, VideoInfo
from gen1_batch.media.sequence import Sequence, frames_on_disk, output_sequence, parse
from gen1_batch.media.timecode import offset

MOVIE_START = 1001  # sequences made from a movie are numbered from here, the studio habit


def check_timing(info: VideoInfo, output_format: str, retime: bool) -> None:
    """Refuse (MediaError) to re-time a variable-frame-rate source to a constant rate, unless
    `retime` accepts it: only movies keep timestamps."""
    durations = info.frame_durations_ms()
    if durations and FORMATS[output_format].sequence and not retime:
        raise MediaError(f"{info.url}: variable frame rate (frames last {durations[0]:.1f} to {durations[1]:.1f} ms); "
                         f"an image sequence ({output_format}) has no timestamps to keep: write mp4 or prores, or set "
                         f"retime (--retime) to accept frames at a constant {info.fps} fps")


def _yuv(tags: dict[str, str]) -> dict[str, int]:
    """reformat's arguments for YUV in the matrix and range a movie is tagged with (none: swscale's default)."""
    if not tags:
        return {}
    return {"dst_colorspace": FFMPEG_CODES["colorspace"][tags["colorspace"]],
            "dst_color_range": FFMPEG_CODES["color_range"][tags["color_range"]]}


def _source_frames(frames: np.ndarray, layout: Canvas, width: int, height: int, pix_fmt: str,
                   matrix: list[int] | None = None, tags: dict[str, str] | None = None) -> Iterator[av.VideoFrame]:
    """Canvas frames cropped to their content, turned back to the orientation the display matrix
    `matrix` shows upright, and resized to width×height (in the YUV matrix `tags` say), one at a time."""
    for image in crop(frames, layout):
        stored = np.ascontiguousarray(orientation.to_stored(image, matrix))
        frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
        yield frame.reformat(width=width, height=height, format=pix_fmt, interpolation="BICUBIC", **_yuv(tags or {}))


def _back(frame: av.VideoFrame, colour: Colour, colorspace: str) -> np.ndarray:
    """A 16-bit frame of the edit as the view shows it, back in `colorspace` (h×w×3 float32)."""
    return from_view(frame.to_ndarray().astype(np.float32) / 65535, colour, colorspace)


def write_movie(frames: np.ndarray, url: str, info: VideoInfo, output_format: str = "mp4") -> dict[str, Any]:
    """Encode canvas frames as a movie at the source's size, rate and start timecode; commit to `url`."""
    f = FORMATS[output_format]
    pix_fmt = f.pix_fmt
    if output_format == "mp4" and (info.width % 2 or info.height % 2):
        pix_fmt = "yuv444p"  # 4:2:0 needs even sizes; an odd-sized source keeps its exact size
    if output_format == "prores" and info.width % 2:
        raise ValueError(f"ProRes 422 needs an even width; the source is {info.width} wide (use mp4 or exr)")
    colour = info.colour_path
    colorspace = colour.output_colorspace(float_pixels=False)
    convert = colorspace != colour.display_colorspace  # frames leave the view's colourspace
    with tempfile.TemporaryDirectory(prefix="gen1-encode-") as tmp:
        local = os.path.join(tmp, "out" + f.extension)
        count = 0
        with av.open(local, mode="w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream(f.codec, rate=info.rate)
            stream.width, stream.height, stream.pix_fmt = info.width, info.height, pix_fmt
            tags = movie_tags(colorspace, f.codec)
            for tag, value in tags.items():
                setattr(stream.codec_context, tag, FFMPEG_CODES[tag][value])
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

            source = _source_frames(frames, info.layout, info.width, info.height, "rgb48le" if convert else pix_fmt,
                                    info.display_matrix, None if convert else tags)
            for frame in source:
                if convert:
                    rgb = np.clip(_back(frame, colour, colorspace) * 65535 + 0.5, 0, 65535).astype(np.uint16)
                    frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(format=pix_fmt, **_yuv(tags))
                frame = tag_frame(frame, tags)
                frame.pts = stamps[count] if stamps else count
                mux(stream.encode(frame))
                count += 1
            mux(stream.encode())
        size = os.path.getsize(local)
        storage.put_file_atomic(local, url)
    return {"url": url, "format": output_format, "codec": f.codec, "pix_fmt": pix_fmt, "bit_depth": f.bit_depth,
            "width": info.width, "height": info.height, "fps": str(info.rate), "frames": count,
            "timecode": info.timecode, "timing": "source" if stamps else "constant",
            "display_matrix": info.display_matrix, "colorspace": colorspace, "colour_tags": tags,
            "bytes": size}


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
    colour = info.colour_path
    colorspace = colour.output_colorspace(float_pixels=f.float_pixels)
    source = sequences.parse(info.url) if info.kind == "sequence" else None
    same_format = source is not None and source.extension.lower().replace(".tiff", ".tif") == f.extension
    fs, folder = storage.filesystem(target.directory)
    total = 0
    with tempfile.TemporaryDirectory(prefix="gen1-encode-") as tmp:
        for number, frame in zip(numbers, _source_frames(frames, info.layout, width, height, "rgb48le"), strict=True):
            local = os.path.join(tmp, target.name(number))
            timecode = offset(info.timecode, number - first, info.rate) if info.timecode else None
            template = None
            if same_format:  # the source frame of the same number lends its layout (its first good one if damaged)
                damaged = number in info.damaged_frames or not storage.exists(source.path(number))
                template = info.template if damaged else source.path(number)
            with contextlib.ExitStack() as stack:
                layout = stack.enter_context(plates.local_copy(template)) if template else None
                plates.write_plate(local, _back(frame, colour, colorspace), rate=info.rate, timecode=timecode,
                                   colorspace=colorspace, template=layout,
                                   pixel_aspect=None if layout else info.pixel_aspect)
            total += os.path.getsize(local)
            storage.put_file_atomic(local, target.path(number))
            os.remove(local)
    if remove_stale:  # frames an earlier run wrote outside this range
        for number in set(frames_on_disk(target)) - set(numbers):
            fs.rm(f"{folder.rstrip('/')}/{target.name(number)}")
    bits = info.bit_depth if same_format else f.bit_depth
    pixel_type = info.pix_fmt if same_format else f.pix_fmt
    return {"url": target.pattern(), "format": output_format, "codec": f.codec, "pix_fmt": pixel_type,
            "bit_depth": bits, "float": f.float_pixels, "width": width, "height": height,
            "fps": str(info.rate), "frames": len(numbers), "frame_start": numbers[0], "frame_end": numbers[-1],
            "timecode": info.timecode if f.header_timecode else None, "timing": "constant",
            "colorspace": colorspace, "layout": info.plate_layout if same_format else None, "bytes": total}


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
