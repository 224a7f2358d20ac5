"""Round trips for every input and output format: frame count, rational rate, timecode, size, bit depth."""

import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from gen1_batch.media import read_video, write_output
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import encode_movie, encode_sequence

NTSC = Fraction(24000, 1001)

# container, codec, pix_fmt, options, size, carries timecode, bit depth
MOVIES = [
    ("mp4", "libx264", "yuv420p", {}, (64, 48), True, 8),
    ("mov", "prores_ks", "yuv422p10le", {"profile": "3"}, (64, 48), True, 10),
    ("mov", "dnxhd", "yuv422p", {"profile": "dnxhr_hq"}, (256, 144), True, 8),
    ("avi", "mpeg4", "yuv420p", {}, (64, 48), False, 8),
]


@pytest.mark.parametrize("container, codec, pix_fmt, options, size, has_timecode, depth", MOVIES)
def test_movie_inputs_give_exact_frames_rate_timecode_size_and_depth(tmp_path, container, codec, pix_fmt,
                                                                     options, size, has_timecode, depth):
    path = encode_movie(str(tmp_path / f"src.{container}"), synthetic_frames(10, *size), codec, pix_fmt, NTSC,
                        options, timecode="01:00:00:00" if has_timecode else None)
    frames, info = read_video(path, 2, 7, side=64, multiple=16)
    assert (info.frames, info.frame_start, info.frame_end, len(frames)) == (6, 2, 7, 6)
    assert info.rate == NTSC and (info.width, info.height) == size and info.bit_depth == depth
    assert info.timecode == ("01:00:00:02" if has_timecode else None)  # the timecode of frame 2


SEQUENCES = [  # extension, codec, pix_fmt, bit depth, float
    ("png", "png", "rgb24", 8, False),
    ("png", "png", "rgb48be", 16, False),
    ("tif", "tiff", "rgb48le", 16, False),
    ("dpx", "dpx", "gbrp10le", 10, False),
    ("exr", "exr", "gbrpf32le", 16, True),  # written as half
]


@pytest.mark.parametrize("ext, codec, pix_fmt, depth, is_float", SEQUENCES)
@pytest.mark.parametrize("style", ["####", "%04d", "1001-1008#"])
def test_sequence_inputs_keep_their_numbers_rate_size_and_depth(tmp_path, ext, codec, pix_fmt, depth, is_float,
                                                                style):
    encode_sequence(str(tmp_path / f"plate.%04d.{ext}"), synthetic_frames(8, 48, 32), codec, pix_fmt)
    frames, info = read_video(str(tmp_path / f"plate.{style}.{ext}"), 1003, 1006, fps=NTSC, side=64, multiple=16)
    assert (info.kind, info.frame_start, info.frame_end, info.frames, len(frames)) == ("sequence", 1003, 1006, 4, 4)
    assert info.rate == NTSC and (info.width, info.height) == (48, 32)
    assert (info.bit_depth, info.float_pixels) == (depth, is_float)


def source(tmp_path, kind):
    """Canvas frames and the VideoInfo of a source: a 1001-numbered EXR plate or a timecoded movie. The
    80x40 source sits on an 80x48 canvas unscaled, so a round trip only loses what codecs lose."""
    if kind == "sequence":
        encode_sequence(str(tmp_path / "plate.%04d.exr"), synthetic_frames(6, 80, 40, seed=1), "exr", "gbrpf32le")
        return read_video(str(tmp_path / "plate.####.exr"), fps=NTSC, timecode="01:00:00:00", size=(80, 48),
                          multiple=16)
    path = encode_movie(str(tmp_path / "src.mov"), synthetic_frames(9, 80, 40, seed=1), "prores_ks", "yuv422p10le",
                        NTSC, {"profile": "3"}, timecode="01:00:00:00")
    return read_video(path, 3, 8, size=(80, 48), multiple=16)


@pytest.mark.parametrize("kind", ["movie", "sequence"])
@pytest.mark.parametrize("fmt", ["mp4", "prores", "png", "exr"])
def test_every_output_format_keeps_frames_rate_timecode_size_and_numbering(tmp_path, kind, fmt):
    frames, info = source(tmp_path, kind)
    out = write_output(frames, str(tmp_path / "out"), "sh010", info, fmt)
    assert (out["width"], out["height"], out["frames"]) == (80, 40, 6)
    back, back_info = read_video(out["url"], fps=NTSC, size=(80, 48), multiple=16)
    assert back_info.frames == 6 and (back_info.width, back_info.height) == (80, 40)  # the source size
    if fmt in ("mp4", "prores"):
        assert back_info.rate == NTSC
    expected_timecode = "01:00:00:00" if kind == "sequence" else "01:00:00:03"
    if fmt != "png":  # PNG has no timecode field
        assert back_info.timecode == expected_timecode
    if fmt in ("png", "exr"):  # a sequence keeps a sequence's numbers; a movie's start at 1001
        assert (back_info.frame_start, back_info.frame_end) == (1001, 1006)
    assert back_info.bit_depth == {"mp4": 8, "prores": 10, "png": 16, "exr": 16}[fmt]
    assert back_info.float_pixels == (fmt == "exr")
    # The picture survives: only what the codecs lose (H.264 4:2:0, 8 and 10 bits, half floats) is gone.
    assert np.abs(back[:, :40].astype(int) - frames[:, :40].astype(int)).mean() < 4


def test_a_1001_numbered_exr_sequence_gives_an_exr_sequence_with_the_same_numbers(tmp_path):
    encode_sequence(str(tmp_path / "plate.%04d.exr"), synthetic_frames(5, 48, 32), "exr", "gbrpf32le", first=1001)
    frames, info = read_video(str(tmp_path / "plate.####.exr"), side=64, multiple=16)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, "exr")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"sh.{n}.exr" for n in range(1001, 1006)]
    with av.open(str(tmp_path / "out" / "sh.1001.exr")) as c:
        assert c.streams.video[0].codec_context.pix_fmt.startswith("gbrpf16")  # half float
    assert out["url"].endswith("sh.####.exr")


def test_prores_out_reads_back_as_prores_422_hq(tmp_path):
    frames, info = source(tmp_path, "movie")
    out = write_output(frames, str(tmp_path / "out"), "sh", info, "prores")
    with av.open(out["url"]) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.name, cc.profile, cc.pix_fmt, cc.codec_tag) == ("prores", "HQ", "yuv422p10le", "apch")
    if shutil.which("ffprobe"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=profile,codec_tag_string:stream_tags=timecode", "-of", "csv=p=0", out["url"]],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert probe == "HQ,apch,01:00:00:03"


def test_the_output_is_the_source_size_whatever_the_working_canvas(tmp_path):
    path = encode_movie(str(tmp_path / "wide.mp4"), synthetic_frames(3, 130, 54), "libx264", "yuv444p")
    frames, info = read_video(path, size=(64, 64), multiple=16)
    assert frames.shape[1:3] == (64, 64) and (info.layout.content_width, info.layout.content_height) == (64, 27)
    out = write_output(frames, str(tmp_path / "out"), "sh", info, "mp4")
    assert (out["width"], out["height"]) == (130, 54)


def test_a_sequence_never_removes_frames_it_cannot_prove_it_wrote(tmp_path):
    from gen1_batch.media import write_video

    write_video(synthetic_frames(5, 32, 16), str(tmp_path / "plates" / "sh.####.png"), 24, "png")  # 1001-1005
    frames, info = read_video(str(tmp_path / "plates" / "sh.####.png"), 1001, 1002, side=32, multiple=16)
    write_video(frames[:, :16, :32], str(tmp_path / "plates" / "sh.####.png"), 24, "png")  # a tool over a folder
    assert len(list((tmp_path / "plates").iterdir())) == 5  # 1003-1005 are someone else's: left alone
    write_output(frames, str(tmp_path / "out" / "sh"), "sh", info, "png")
    write_output(frames[:1], str(tmp_path / "out" / "sh"), "sh", info, "png")
    assert [p.name for p in (tmp_path / "out" / "sh").iterdir()] == ["sh.1001.png"]  # its own folder: its frames
