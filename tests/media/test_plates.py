"""Plates through OpenImageIO: a multi-part and a tiled EXR keep their layout and timecode."""

from fractions import Fraction

import numpy as np
import OpenImageIO as oiio

from gen1_batch.media import read_video, write_output
from gen1_batch.media.plates import read_plate


def _exr(path: str, tiled: bool, parts: bool) -> None:
    beauty = oiio.ImageSpec(32, 16, 4, "half")
    beauty.channelnames = ("R", "G", "B", "A")
    beauty.attribute("compression", "piz")
    beauty.attribute("name", "beauty")
    beauty.attribute("smpte:TimeCode", oiio.TypeTimeCode, np.array([0x01000000, 0], np.uint32))  # 01:00:00:00
    if tiled:
        beauty.tile_width = beauty.tile_height = 16
    specs = [beauty]
    if parts:
        depth = oiio.ImageSpec(32, 16, 1, "float")
        depth.channelnames = ("Z",)
        depth.attribute("name", "depth")
        specs.append(depth)
    out = oiio.ImageOutput.create(path)
    assert out.open(path, specs) if parts else out.open(path, beauty)
    out.write_image(np.full((16, 32, 4), 0.18, np.float32))
    if parts:
        out.open(path, specs[1], "AppendSubimage")
        out.write_image(np.full((16, 32, 1), 7.0, np.float32))
    out.close()


def _round_trip(tmp_path, tiled: bool, parts: bool) -> tuple[dict, str]:
    for number in (1001, 1002):
        _exr(str(tmp_path / f"plate.{number}.exr"), tiled, parts)
    frames, info = read_video(str(tmp_path / "plate.####.exr"), fps=Fraction(24), size=(32, 16), multiple=8)
    write_output(frames, str(tmp_path / "out"), "sh010", info, "exr")
    return read_plate(str(tmp_path / "out" / "sh010.1002.exr")).layout, str(tmp_path / "out" / "sh010.1002.exr")


def test_a_multi_part_exr_keeps_its_parts_and_timecode(tmp_path):
    source = read_plate(_write_and_read(tmp_path, tiled=False, parts=True))
    layout, written = _round_trip(tmp_path, tiled=False, parts=True)
    assert layout == source.layout
    assert read_plate(written).timecode == "01:00:00:01"  # the second frame
    image = oiio.ImageInput.open(written)
    assert image.seek_subimage(1, 0) and float(image.read_image(1, 0, 0, 1).max()) == 7.0  # the depth part is kept
    image.close()


def test_a_tiled_exr_stays_tiled_with_its_compression(tmp_path):
    layout, written = _round_trip(tmp_path, tiled=True, parts=False)
    assert layout["parts"][0]["tiles"] == [16, 16] and layout["parts"][0]["compression"] == "piz"
    assert read_plate(written).timecode == "01:00:00:01"


def _write_and_read(tmp_path, tiled: bool, parts: bool) -> str:
    path = str(tmp_path / "reference.exr")
    _exr(path, tiled, parts)
    return path
