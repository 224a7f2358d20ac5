"""Managed colour: plates come back in their own colourspace through the view and its inverse."""

import json
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from gen1_batch.manifest import ManifestError, load_manifest
from gen1_batch.media import read_video, write_output
from gen1_batch.media.colour import PRORES_TRANSFERS, Colour
from gen1_batch.media.plates import read_plate, write_plate

WIDTH, HEIGHT = 64, 32


def _ramp(top: float) -> np.ndarray:
    """h×w×3: a ramp from 0 to `top` along x, in three tints."""
    x = np.geomspace(1e-3, top, WIDTH, dtype=np.float32)
    return np.stack([np.tile(x, (HEIGHT, 1)) * t for t in (1.0, 0.8, 0.6)], axis=-1).astype(np.float32)


def _identity_round_trip(tmp_path, extension: str, pixels: np.ndarray, colorspace: str) -> tuple[np.ndarray, dict]:
    """Write a 2-frame plate, read it as the pipeline does, write the frames back unedited (a stub edit
    that returns its input) as EXR, and read that back."""
    for number in (1001, 1002):
        write_plate(str(tmp_path / f"plate.{number}{extension}"), pixels, rate=Fraction(24), timecode="01:00:00:00",
                    colorspace=colorspace)
    colour = Colour.resolve(None, colorspace if extension != ".exr" else None, None, f"plate.####{extension}")
    frames, info = read_video(str(tmp_path / f"plate.####{extension}"), size=(WIDTH, HEIGHT), multiple=8,
                              colour=colour)
    out = write_output(frames, str(tmp_path / "out"), "sh010", info, "exr")
    return read_plate(str(tmp_path / "out" / "sh010.1001.exr")).pixels, out


def test_an_acescg_exr_up_to_16_comes_back_acescg_within_the_8_bit_view_tolerance(tmp_path):
    source = _ramp(16.0)
    back, out = _identity_round_trip(tmp_path, ".exr", source, "ACEScg")
    assert out["colorspace"] == "ACEScg"
    assert read_plate(out["url"].replace("####", "1001")).colorspace in ("lin_ap1_scene", "ACEScg")  # header says so
    assert back.max() > 12  # highlights survive: not clipped at 1
    relative = np.abs(back - source) / np.maximum(source, 0.05)
    # The models see 8-bit codes of the view: half a code, through the inverse, is what may be lost.
    assert relative.max() < 0.15 and relative.mean() < 0.05


def test_a_log_dpx_round_trips_in_its_log_colourspace(tmp_path):
    source = np.clip(_ramp(1.0), 0.1, 0.65)  # ACEScct code values, scene-linear up to about 3
    back, out = _identity_round_trip(tmp_path, ".dpx", source, "ACEScct")
    assert out["colorspace"] == "ACEScct"
    assert np.abs(back - source).max() < 0.06 and np.abs(back - source).mean() < 0.03  # ACEScct code values


def test_a_colourspace_the_config_does_not_have_is_one_line_naming_the_row(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"shot_id": "a", "video": "a.mp4", "prompt": "x"}\n'
                        '{"shot_id": "b", "video": "b.####.exr", "prompt": "x", "colorspace": "ACEScgg"}\n')
    with pytest.raises(ManifestError) as e:
        load_manifest(str(manifest))
    (problem,) = e.value.problems
    assert (problem.row, problem.column) == (2, "colorspace")
    assert "'ACEScgg' is not a colourspace of the OCIO config" in problem.reason and "\n" not in problem.reason


def test_a_view_the_config_does_not_have_is_named_too(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"shot_id": "a", "video": "a.mp4", "prompt": "x"}\n')
    with pytest.raises(ManifestError) as e:
        load_manifest(str(manifest), view="sRGB - Display/No Such View")
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "view")]


@pytest.mark.skipif(not shutil.which("ffprobe"), reason="needs ffprobe")
@pytest.mark.parametrize("fmt", ["mp4", "prores"])
@pytest.mark.parametrize(("view", "transfer"), [(None, "iec61966-2-1"),
                                                 ("Rec.1886 Rec.709 - Display/ACES 2.0 - SDR 100 nits (Rec.709)",
                                                  "bt709")])
def test_a_movie_of_an_acescg_plate_is_tagged_with_the_colourspace_of_the_view(tmp_path, fmt, view, transfer):
    """A player reads these tags to show the movie as the view showed it: sRGB or Rec.1886 display,
    Rec.709 primaries and matrix, limited range, as ffprobe reads them."""
    for number in (1001, 1002):
        write_plate(str(tmp_path / f"plate.{number}.exr"), _ramp(4.0), rate=Fraction(24), timecode="01:00:00:00",
                    colorspace="ACEScg")
    colour = Colour.resolve(None, None, view, "plate.####.exr")
    frames, info = read_video(str(tmp_path / "plate.####.exr"), size=(WIDTH, HEIGHT), multiple=8, colour=colour)
    out = write_output(frames, str(tmp_path / "out"), "sh010", info, fmt)
    probed = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "stream=color_primaries,color_transfer,color_space,color_range", "-of", "json",
                             out["url"]], capture_output=True, text=True, check=True).stdout
    expected = {"color_range": "tv", "color_space": "bt709", "color_transfer": transfer, "color_primaries": "bt709"}
    if fmt == "prores" and transfer not in PRORES_TRANSFERS:  # ProRes has no code for it: left unspecified
        del expected["color_transfer"]
    assert json.loads(probed)["streams"][0] == expected
    assert out["colour_tags"].get("color_trc") == expected.get("color_transfer")  # the report says what was written


def test_a_log_dpx_plate_written_as_dpx_keeps_its_colourspace_bit_depth_and_timecode(tmp_path):
    source = np.clip(_ramp(1.0), 0.1, 0.65)  # ACEScct code values
    for number in (1001, 1002):
        write_plate(str(tmp_path / f"plate.{number}.dpx"), source, rate=Fraction(24), timecode="01:00:00:00",
                    colorspace="ACEScct")
    colour = Colour.resolve(None, "ACEScct", None, "plate.####.dpx")
    frames, info = read_video(str(tmp_path / "plate.####.dpx"), size=(WIDTH, HEIGHT), multiple=8, colour=colour)
    out = write_output(frames, str(tmp_path / "out"), "sh010", info, "dpx")
    assert (out["colorspace"], out["bit_depth"], out["timecode"]) == ("ACEScct", 10, "01:00:00:00")
    second = read_plate(str(tmp_path / "out" / "sh010.1002.dpx"))
    assert (second.bit_depth, second.timecode, second.rate) == (10, "01:00:00:01", Fraction(24))
    assert np.abs(second.pixels - source).mean() < 0.03  # the log code values, through the view and back


def test_an_acescg_exr_plate_written_as_tiff_is_16_bit_in_the_view_colourspace(tmp_path):
    for number in (1001, 1002):
        write_plate(str(tmp_path / f"plate.{number}.exr"), _ramp(4.0), rate=Fraction(24), timecode="01:00:00:00",
                    colorspace="ACEScg")
    colour = Colour.resolve(None, None, None, "plate.####.exr")
    frames, info = read_video(str(tmp_path / "plate.####.exr"), size=(WIDTH, HEIGHT), multiple=8, colour=colour)
    out = write_output(frames, str(tmp_path / "out"), "sh010", info, "tiff")
    assert out["url"].endswith("sh010.####.tif") and out["colorspace"] == colour.display_colorspace  # integers
    plate = read_plate(str(tmp_path / "out" / "sh010.1001.tif"))
    assert (plate.bit_depth, plate.float_pixels, plate.pixels.shape) == (16, False, (HEIGHT, WIDTH, 3))
    assert np.abs(plate.pixels - frames[0] / 255).max() < 1 / 255 + 1e-4  # what the models saw, 16-bit
