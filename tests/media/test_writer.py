"""What the writer keeps of a source beyond its pixels: orientation and timing."""

import contextlib
import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import pytest

from gen1_batch.media import MediaError, check_timing, read_video, write_output, write_video
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import encode_movie

PHONE = (-90, False, False)  # a phone held upright: stored sideways, shown turned a quarter clockwise


def stream_facts(path):
    """Stored size and display matrix, from PyAV; what ffprobe reports as width, height, rotation."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        matrix = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        return stream.codec_context.width, stream.codec_context.height, bytes(matrix) if matrix else None


def ffprobe(path):
    return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height:stream_side_data=rotation", "-of", "json", path],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("fmt", ["mp4", "prores"])
def test_an_edit_of_a_rotated_clip_shows_like_its_source(tmp_path, fmt):
    source = encode_movie(str(tmp_path / "phone.mp4"), synthetic_frames(4, 64, 32), "libx264", "yuv444p",
                          options={"qp": "0"}, display=PHONE)
    frames, info = read_video(source, size=(32, 64), multiple=16)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, fmt)
    assert stream_facts(out["url"]) == stream_facts(source)  # same stored size, same display matrix
    back, back_info = read_video(out["url"], size=(32, 64), multiple=16)
    assert back_info.display_size == info.display_size == (32, 64)
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 6  # upright, like the source (4:2:0 loses some)
    if shutil.which("ffprobe"):
        probed = json.loads(ffprobe(out["url"]))["streams"][0]
        assert probed == json.loads(ffprobe(source))["streams"][0]
        assert probed["side_data_list"][0]["rotation"] == -90


def test_a_sequence_from_a_rotated_clip_holds_the_picture_upright(tmp_path):
    source = encode_movie(str(tmp_path / "phone.mp4"), synthetic_frames(3, 64, 32), "libx264", "yuv444p",
                          options={"qp": "0"}, display=PHONE)
    frames, info = read_video(source, size=(32, 64), multiple=16)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, "png")
    assert (out["width"], out["height"]) == (32, 64)
    back, _ = read_video(out["url"], size=(32, 64), multiple=16)
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 2


TIMES = [0, 1, 2, 5, 6, 10, 11, 12]  # in 1/24 s


@pytest.mark.parametrize("fmt", ["mp4", "prores"])
def test_a_variable_frame_rate_clip_is_written_with_its_timestamps(tmp_path, fmt):
    """Like tree.avi: pictures that hold for several frame periods."""
    source = encode_movie(str(tmp_path / "vfr.avi"), synthetic_frames(8, 64, 48), "mjpeg", "yuvj420p", pts=TIMES)
    frames, info = read_video(source, 0, 4, side=32)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, fmt)
    assert (out["frames"], out["timing"]) == (5, "source")
    with av.open(out["url"]) as container:
        stream = container.streams.video[0]
        starts = sorted(frame.pts * stream.time_base for frame in container.decode(stream))
        assert starts == [Fraction(t, 24) for t in TIMES[:5]]
        assert stream.duration * stream.time_base == Fraction(TIMES[5], 24)  # the last one holds until the next


def test_a_variable_frame_rate_clip_goes_to_a_sequence_only_when_retiming_is_accepted(tmp_path):
    source = encode_movie(str(tmp_path / "vfr.mp4"), synthetic_frames(8, 64, 48), "libx264", "yuv420p", pts=TIMES)
    frames, info = read_video(source, side=32)
    with pytest.raises(MediaError, match=r"vfr\.mp4: variable frame rate \(frames last 41\.7 to 166\.7 ms\); an image "
                                         r"sequence \(png\) has no timestamps to keep: .*--retime"):
        check_timing(info, "png", retime=False)
    for fmt in ("mp4", "prores"):
        check_timing(info, fmt, retime=False)  # movies keep the timestamps
    check_timing(info, "exr", retime=True)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, "exr")
    assert (out["frames"], out["timing"]) == (8, "constant")


@contextlib.contextmanager
def cpus(allowed):
    """The CPUs this thread may run on (what an encoder sizes its threads by), for the block."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, allowed)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.parametrize("fmt", ["mp4", "prores"])
def test_a_movie_has_the_same_bytes_every_time_and_on_any_number_of_cpus(tmp_path, fmt):
    """The same edit gives the same file, whatever machine, CPU affinity or load it was encoded under:
    x264's automatic thread count followed the CPUs the process could use, and the bytes with it (from
    128 rows up on two CPUs). Each CPU count is written twice; on a one-CPU machine only the repeat is shown."""
    source = encode_movie(str(tmp_path / "vfr.avi"), synthetic_frames(8, 64, 128), "mjpeg", "yuvj420p", pts=TIMES)
    frames, info = read_video(source, side=64)
    assert info.timestamps  # timing kept from the source, as for tree.avi
    written = []
    for allowed in [os.sched_getaffinity(0), {min(os.sched_getaffinity(0))}]:
        with cpus(allowed):
            for attempt in range(2):
                out = write_output(frames, str(tmp_path / f"{len(allowed)}-{attempt}"), "sh", info, fmt)
                written.append(Path(out["url"]).read_bytes())
    assert all(data == written[0] for data in written)


@pytest.mark.parametrize("fmt", ["exr", "png"])
def test_a_sequence_frame_records_no_time_of_writing(tmp_path, fmt):
    """OpenImageIO stamps EXR and TIFF headers with the time of writing when nothing else is given, so
    each run's frames had other bytes; a frame holds only what the edit and its source decide."""
    frames = synthetic_frames(2, 32, 16)
    first = write_video(frames, str(tmp_path / "a" / f"plate.####.{fmt}"), 24, fmt)
    again = write_video(frames, str(tmp_path / "b" / f"plate.####.{fmt}"), 24, fmt)
    for number in (1001, 1002):
        frame = first["url"].replace("####", str(number))
        header = oiio.ImageInput.open(frame)
        assert header.spec().getattribute("DateTime") is None
        header.close()
        assert Path(frame).read_bytes() == Path(again["url"].replace("####", str(number))).read_bytes()
