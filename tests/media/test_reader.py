import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gen1_batch.media import MediaError, probe, read_video, working_size
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import damage_packets, encode_movie, encode_sequence


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
    ("empty", r"plate\.1003\.png: empty file"),
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


# ------------------------------------------------------------------------------ files that end early


@pytest.mark.parametrize("container, codec, pix_fmt", [
    ("avi", "mjpeg", "yuvj420p"),  # the AVI header counts frame periods
    ("mkv", "mjpeg", "yuvj420p"),  # Matroska: the DURATION tag
    ("mxf", "mpeg2video", "yuv422p"),  # MXF: the track's duration
])
def test_a_file_cut_short_fails_naming_its_missing_frames(tmp_path, container, codec, pix_fmt):
    import av

    path = encode_movie(str(tmp_path / f"whole.{container}"), synthetic_frames(24, 64, 48), codec, pix_fmt, rate=25)
    assert read_video(path, side=32)[1].frames == 24
    with av.open(path) as whole:  # cut where the 12th picture ends: what is left decodes cleanly
        packet = [p for p in whole.demux(whole.streams.video[0]) if p.size][11]
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(Path(path).read_bytes()[: packet.pos + packet.size])
    with pytest.raises(MediaError, match=rf"cut\.{container}: frames \d+-23 missing: the file ends early"):
        read_video(str(cut), side=32)


def test_an_avi_with_null_frames_is_whole_until_cut(tmp_path):
    """tree.avi's case: its header counts 444 frame periods that hold 68 pictures (the rest are
    empty "repeat" chunks). Whole, it reads; cut, it fails instead of passing as a shorter clip."""
    times = [0, 1, 2, 5, 6, 10, 11, 12, 20, 21, 22, 30]
    path = encode_movie(str(tmp_path / "tree.avi"), synthetic_frames(12, 64, 48), "mjpeg", "yuvj420p", pts=times)
    frames, info = read_video(path, side=32)
    assert (len(frames), info.irregular_timing) == (12, True)
    data = Path(path).read_bytes()
    (tmp_path / "half.avi").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"half\.avi: frames \d+.* missing: the file ends early .*AVI header says"):
        read_video(str(tmp_path / "half.avi"))


def test_an_avi_whose_header_overstates_but_whose_riff_chunks_are_whole_reads(tmp_path):
    path = encode_movie(str(tmp_path / "long.avi"), synthetic_frames(6, 64, 48), "mjpeg", "yuvj420p")
    data = bytearray(Path(path).read_bytes())
    length_at = data.index(b"strh") + 8 + 32  # the video stream header's dwLength
    data[length_at: length_at + 4] = (600).to_bytes(4, "little")
    Path(path).write_bytes(bytes(data))
    assert read_video(path, side=32)[1].frames == 6


def test_an_edit_list_that_skips_frames_is_not_taken_for_a_cut(tmp_path, make_clip):
    """An mp4 trimmed without re-encoding keeps the skipped frames' samples (for reference) behind
    an edit list: the sample table counts them, but they are not frames of the clip."""
    import av

    source, trimmed = make_clip(frames=24), str(tmp_path / "trimmed.mp4")
    with av.open(source) as src, av.open(trimmed, "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            shift = round(6 / (24 * packet.time_base))  # the first 6 frames before the edit's start
            packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, stream
            out.mux(packet)
    frames, info = read_video(trimmed, side=32)
    assert info.frames == len(frames) == 18


# ------------------------------------------------------------------------------------------ rotation

# How ffmpeg's and ffplay's autorotation show a stored picture with each display matrix, given as
# PyAV's set_display_rotation (degrees counter-clockwise, hflip, vflip); seen with ffmpeg 5.1.
SHOWN = {
    (90, False, False): lambda a: np.rot90(a, 1),
    (-90, False, False): lambda a: np.rot90(a, -1),  # a phone held upright ("rotate=90")
    (180, False, False): lambda a: np.rot90(a, 2),
    (0, True, False): lambda a: a[:, ::-1],
    (0, False, True): lambda a: a[::-1],
    (90, True, False): lambda a: np.rot90(a, 1)[:, ::-1],
    (-90, True, False): lambda a: np.rot90(a, -1)[:, ::-1],
}


def rotated_clip(tmp_path, display, name="phone.mp4"):
    """A lossless 64x32 clip whose display matrix is `display`, and its stored pictures."""
    stored = synthetic_frames(3, 64, 32, seed=5)
    path = encode_movie(str(tmp_path / name), stored, "libx264", "yuv444p", options={"qp": "0"}, display=display)
    return path, stored


@pytest.mark.parametrize("display", list(SHOWN))
def test_a_clip_with_a_display_matrix_is_decoded_as_players_show_it(tmp_path, display):
    path, stored = rotated_clip(tmp_path, display)
    shown = np.stack([SHOWN[display](f) for f in stored])
    height, width = shown.shape[1:3]
    frames, info = read_video(path, size=(width, height), multiple=16)
    assert frames.shape == shown.shape and (info.width, info.height) == (64, 32)  # width, height: as stored
    assert info.display_size == (width, height)
    assert np.abs(frames.astype(int) - shown.astype(int)).mean() < 3


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs Debian's ffmpeg")
@pytest.mark.parametrize("display", [(-90, False, False), (90, True, False)])
def test_upright_frames_match_what_ffmpeg_shows(tmp_path, display):
    path, _ = rotated_clip(tmp_path, display)
    frames, _ = read_video(path, size=info_size(path), multiple=16)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout
    shown = np.frombuffer(raw, np.uint8).reshape(frames.shape[1:])
    assert np.abs(frames[0].astype(int) - shown.astype(int)).mean() < 3


def info_size(path):
    info = probe(path)
    return info["width"], info["height"]


def test_a_display_matrix_that_is_not_a_quarter_turn_is_refused(tmp_path):
    path = encode_movie(str(tmp_path / "tilt.mp4"), synthetic_frames(2, 64, 32), "libx264", "yuv420p",
                        display=(30, False, False))
    with pytest.raises(MediaError, match=r"tilt\.mp4: the display matrix turns the picture by -?30\.0 degrees"):
        read_video(path)


# ---------------------------------------------------------------------------------- variable frame rate


def test_a_variable_frame_rate_movie_keeps_each_frames_time(tmp_path):
    times = [0, 1, 2, 5, 6, 10, 11, 12]
    path = encode_movie(str(tmp_path / "vfr.mp4"), synthetic_frames(8, 64, 48), "libx264", "yuv420p", pts=times)
    frames, info = read_video(path, side=32)
    assert info.irregular_timing and len(frames) == 8
    seconds = [t * Fraction(info.time_base) for t in info.timestamps[:-1]]
    assert seconds == [Fraction(t, 24) for t in times]
    _, info = read_video(path, 3, 6, side=32)  # a range's times start at its first frame
    assert [t * Fraction(info.time_base) for t in info.timestamps] == [Fraction(t, 24) for t in (0, 1, 5, 6, 7)]


def test_a_constant_rate_movie_has_no_timestamps_to_keep(make_clip):
    _, info = read_video(make_clip(frames=6), side=32)
    assert (info.irregular_timing, info.timestamps) == (False, None)


# ------------------------------------------------------------------------------------- damaged frames


def damaged_movie(tmp_path, packets, codec="mjpeg", pix_fmt="yuvj420p", options=None, frames=8):
    clean = encode_movie(str(tmp_path / f"clean.{'avi' if codec == 'mjpeg' else 'mp4'}"),
                         synthetic_frames(frames, 64, 48), codec, pix_fmt, options=options, timecode="01:00:00:00")
    return clean, damage_packets(clean, str(tmp_path / f"damaged{Path(clean).suffix}"), set(packets))


def test_a_damaged_frame_fails_the_shot_by_default_naming_every_damaged_frame(tmp_path):
    _, path = damaged_movie(tmp_path, {3, 5, 6})
    with pytest.raises(MediaError, match=r"damaged\.avi: frames 3, 5-6 cannot be decoded .*nearest or black"):
        read_video(path, side=32)
    assert read_video(path, 0, 2, side=32)[1].frames == 3  # a range without them is fine


@pytest.mark.parametrize("mode", ["nearest", "black"])
def test_damaged_frames_are_replaced_in_place_and_listed(tmp_path, mode):
    clean, path = damaged_movie(tmp_path, {3, 5, 6})
    good, _ = read_video(clean, side=32)
    frames, info = read_video(path, side=32, damaged_frames=mode)
    assert len(frames) == info.frames == 8 and info.damaged_frames == [3, 5, 6]
    for n in (0, 1, 2, 4, 7):
        np.testing.assert_array_equal(frames[n], good[n])
    if mode == "nearest":  # the closest good frame, the earlier one on a tie
        for n, source in ((3, 2), (5, 4), (6, 7)):
            np.testing.assert_array_equal(frames[n], good[source])
    else:
        assert not frames[[3, 5, 6]].any()


def test_a_broken_first_frame_keeps_the_containers_frame_count_and_timecode(tmp_path):
    """OpenCV's box.mp4: the container says 456 frames, its first H.264 frame is broken. The frames
    that depend on it go with it; the output keeps every number and the source's timecode."""
    _, path = damaged_movie(tmp_path, {0}, "libx264", "yuv420p", {"g": "4", "bf": "0"}, frames=12)
    frames, info = read_video(path, side=32, damaged_frames="nearest")
    assert (len(frames), info.frame_start, info.timecode) == (12, 0, "01:00:00:00")
    assert info.damaged_frames[0] == 0 and max(info.damaged_frames) < 4  # the rest of its group of pictures
    first_good = max(info.damaged_frames) + 1
    for n in info.damaged_frames:
        np.testing.assert_array_equal(frames[n], frames[first_good])


def test_a_range_next_to_damaged_frames_takes_its_neighbours(tmp_path):
    _, path = damaged_movie(tmp_path, {2, 3, 4})
    frames, info = read_video(path, 2, 4, side=32, damaged_frames="nearest")
    everything, _ = read_video(path, side=32, damaged_frames="nearest")
    assert info.damaged_frames == [2, 3, 4] and (info.frame_start, info.frame_end) == (2, 4)
    np.testing.assert_array_equal(frames, everything[2:5])  # frames 1 and 5, outside the range, stand in


@pytest.mark.parametrize("mode", ["nearest", "black"])
def test_a_sequence_with_a_missing_and_a_corrupt_frame_is_filled(tmp_path, mode):
    encode_sequence(str(tmp_path / "plate.%04d.png"), synthetic_frames(6, 32, 16), "png", "rgb24")
    good, _ = read_video(str(tmp_path / "plate.####.png"), side=32)
    (tmp_path / "plate.1002.png").unlink()
    (tmp_path / "plate.1005.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    frames, info = read_video(str(tmp_path / "plate.####.png"), side=32, damaged_frames=mode)
    assert (info.frames, info.frame_start, info.damaged_frames) == (6, 1001, [1002, 1005])
    if mode == "nearest":
        np.testing.assert_array_equal(frames[1], good[0])  # 1002 <- 1001 (tie: the earlier)
        np.testing.assert_array_equal(frames[4], good[3])  # 1005 <- 1004
    else:
        assert not frames[[1, 4]].any()


def test_a_sequence_whose_every_frame_is_damaged_fails(tmp_path):
    encode_sequence(str(tmp_path / "plate.%04d.png"), synthetic_frames(2, 32, 16), "png", "rgb24")
    for name in ("plate.1001.png", "plate.1002.png"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(MediaError, match=r"none of frames 1001-1002 can be read"):
        read_video(str(tmp_path / "plate.####.png"), damaged_frames="nearest")


def test_a_sequences_timecode_is_counted_back_past_a_damaged_first_frame(tmp_path):
    from gen1_batch.media.synthetic import write_synthetic_clip

    write_synthetic_clip(str(tmp_path / "plate.####.exr"), frames=3, width=32, height=16, output_format="exr",
                         timecode="01:00:00:00")
    (tmp_path / "plate.1001.exr").write_bytes(b"")
    _, info = read_video(str(tmp_path / "plate.####.exr"), damaged_frames="black")
    assert (info.damaged_frames, info.timecode) == ([1001], "01:00:00:00")


def test_a_header_timecode_that_cannot_be_counted_back_is_dropped_not_a_crash(tmp_path):
    from gen1_batch.media.headers import exr_with_timecode
    from gen1_batch.media.synthetic import write_synthetic_clip

    write_synthetic_clip(str(tmp_path / "plate.####.exr"), frames=3, width=32, height=16, output_format="exr")
    for name in ("plate.1001.exr", "plate.1002.exr"):
        (tmp_path / name).write_bytes(b"")
    third = tmp_path / "plate.1003.exr"
    third.write_bytes(exr_with_timecode(third.read_bytes(), "00:00:00:01"))  # frame 1001 would be before zero
    _, info = read_video(str(tmp_path / "plate.####.exr"), damaged_frames="black", timecode="10:00:00:00")
    assert info.timecode == "10:00:00:00"  # the manifest's, for a source whose own cannot be right
