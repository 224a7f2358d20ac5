from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gen1_batch.media import MediaError, probe, read_video, working_size
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import encode_movie, encode_sequence


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


def test_a_damaged_frame_in_the_middle_is_reported_by_its_number(tmp_path):
    path = encode_movie(str(tmp_path / "mj.avi"), synthetic_frames(6, 64, 48), "mjpeg", "yuvj420p")
    data = bytearray(Path(path).read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]  # JPEG images
    data[starts[3] + 2: starts[3] + 302] = bytes(300)  # FFmpeg would conceal this and carry on
    Path(path).write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r"mj\.avi: frame 3 cannot be decoded"):
        read_video(path)


def test_an_unsupported_codec_is_named(tmp_path):
    path = encode_movie(str(tmp_path / "src.avi"), synthetic_frames(3, 64, 48), "mpeg4", "yuv420p")
    Path(path).write_bytes(Path(path).read_bytes().replace(b"FMP4", b"QQQQ"))  # a fourcc no decoder knows
    with pytest.raises(MediaError, match=r"src\.avi: unsupported video codec"):
        read_video(path)


@pytest.mark.parametrize("damage, message", [
    ("delete", r"plate\.1003\.png: frame 1003 is missing"),
    ("empty", r"plate\.1003\.png: frame 1003 is an empty file"),
    ("garbage", r"plate\.1003\.png: frame 1003 cannot be decoded"),
])
def test_a_bad_frame_in_a_sequence_fails_the_shot_naming_the_file(tmp_path, damage, message):
    encode_sequence(str(tmp_path / "plate.%04d.png"), synthetic_frames(5, 32, 16), "png", "rgb24")
    frame = tmp_path / "plate.1003.png"
    if damage == "delete":
        frame.unlink()
    else:
        frame.write_bytes(b"" if damage == "empty" else b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(MediaError, match=message):
        read_video(str(tmp_path / "plate.####.png"))


def test_a_sequence_range_outside_the_files_is_refused(tmp_path):
    encode_sequence(str(tmp_path / "plate.%04d.png"), synthetic_frames(3, 32, 16), "png", "rgb24")
    with pytest.raises(MediaError, match=r"frames 1002-1010 are outside the sequence \(1001-1003\)"):
        read_video(str(tmp_path / "plate.####.png"), 1002, 1010)
