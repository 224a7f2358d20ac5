import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from gen1_batch.media import read_video, write_video
from gen1_batch.media.synthetic import synthetic_frames


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001)])
def test_writes_the_frame_count_rate_and_size_asked_for(tmp_path, fps):
    url = str(tmp_path / "out.mp4")
    info = write_video(synthetic_frames(7, 32, 16), url, fps, 96, 64)
    assert (info["frames"], info["width"], info["height"], info["fps"]) == (7, 96, 64, str(fps))
    with av.open(url) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.average_rate, sum(1 for _ in c.decode(s))) == ("h264", fps, 7)
        assert (s.codec_context.width, s.codec_context.height) == (96, 64)


@pytest.mark.skipif(not shutil.which("ffprobe"), reason="ffprobe not installed")
def test_ffprobe_agrees_on_frames_and_rate(tmp_path):
    url = str(tmp_path / "out.mp4")
    write_video(synthetic_frames(9, 32, 32), url, Fraction(24000, 1001), 64, 64)
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                          "stream=nb_read_frames,r_frame_rate", "-of", "csv=p=0", url], capture_output=True, text=True)
    assert out.stdout.strip() == "24000/1001,9"


def test_round_trip_keeps_the_picture(tmp_path):
    frames = synthetic_frames(5, 64, 48)
    url = str(tmp_path / "out.mp4")
    write_video(frames, url, Fraction(24), 64, 48)
    back, _ = read_video(url, size=(64, 48))
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 6  # H.264 at crf 16, 4:2:0


def test_an_odd_size_is_kept_exactly(tmp_path):
    url = str(tmp_path / "odd.mp4")
    info = write_video(synthetic_frames(3, 32, 32), url, Fraction(24), 65, 33)
    _, back = read_video(url, size=(32, 16))
    assert (back.width, back.height, info["pix_fmt"]) == (65, 33, "yuv444p")


def test_writes_to_an_object_store_url(tmp_path):
    info = write_video(synthetic_frames(3, 32, 32), "memory://renders/a/a.mp4", Fraction(24), 32, 32)
    _, back = read_video("memory://renders/a/a.mp4", size=(32, 32))
    assert (back.frames, info["frames"]) == (3, 3)
