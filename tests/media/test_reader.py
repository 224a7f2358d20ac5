from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gen1_batch.media import MediaError, probe, read_video, working_size


def test_reads_every_frame_at_the_working_size_with_an_exact_rate(make_clip):
    path = make_clip(frames=10, width=96, height=64, fps=Fraction(24000, 1001))
    frames, info = read_video(path, size=(48, 32))
    assert frames.shape == (10, 32, 48, 3) and frames.dtype == np.uint8
    assert (info.frames, info.width, info.height, info.rate) == (10, 96, 64, Fraction(24000, 1001))
    assert (info.frame_start, info.frame_end) == (0, 9)


def test_an_inclusive_frame_range_selects_exactly_those_frames(make_clip):
    path = make_clip(frames=12)
    everything, _ = read_video(path, size=(64, 48))
    part, info = read_video(path, 3, 7, size=(64, 48))
    assert (info.frames, info.frame_start, info.frame_end) == (5, 3, 7)
    np.testing.assert_array_equal(part, everything[3:8])


def test_working_size_keeps_the_aspect_and_the_multiple():
    assert working_size(1920, 1080, None, None, side=512, multiple=64) == (704, 384)
    assert working_size(1920, 1080, 512, None, side=512, multiple=8) == (512, 288)
    assert working_size(1920, 1080, None, 288, side=512, multiple=8) == (512, 288)
    assert working_size(64, 48, 40, 24, side=512, multiple=8) == (40, 24)


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    (b"", "not a readable video"),
    (b"not a video", "not a readable video"),
])
def test_bad_files_fail_with_the_file_name(tmp_path, content, message):
    path = str(tmp_path / "shot.mp4")
    if content is not None:
        Path(path).write_bytes(content)
    with pytest.raises(MediaError, match=message) as info:
        read_video(path)
    assert path in str(info.value)


def test_a_truncated_file_is_not_taken_for_a_short_one(make_clip, tmp_path):
    path = make_clip(frames=24, width=64, height=48)
    data = Path(path).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])  # the index (moov, written first) still lists 24 frames
    with pytest.raises(MediaError, match=r"truncated|cannot be decoded|not a readable") as info:
        read_video(str(cut))
    assert str(cut) in str(info.value)


def test_a_range_outside_the_media_names_the_last_frame(make_clip):
    path = make_clip(frames=8)
    with pytest.raises(MediaError, match="frame_start 8 is past the last frame \\(7\\)"):
        read_video(path, 8, None)
    with pytest.raises(MediaError, match="frame_end 20 is past the last frame \\(7\\)"):
        read_video(path, 2, 20)


def test_a_file_without_video_is_rejected(tmp_path):
    path = str(tmp_path / "audio.m4a")
    with av.open(path, "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(MediaError, match="no video stream"):
        read_video(path)


def test_probe_reads_the_header_only(make_clip):
    info = probe(make_clip(frames=9, fps="25"))
    assert (info["header_frames"], info["fps"], info["width"]) == (9, "25", 64)


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_a_video_with_zero_frames_fails_with_the_file_name(tmp_path, container):
    path = str(tmp_path / f"empty.{container}")
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()  # header only, no frame
    with pytest.raises(MediaError, match=r"no video stream|not a readable video|no frames") as info:
        read_video(path)
    assert path in str(info.value)
