"""Plates (EXR, DPX, TIFF, PNG frames) through OpenImageIO: pixels, timecode, frame rate, pixel aspect,
data/display windows, multi-part and tiled EXR.

A frame's picture is the first part (subimage) with R, G and B channels (`R` or `layer.R`), read in its
data window. Writing a frame after a template (the source frame of the same format) keeps the
template's whole layout: its parts, channels, pixel types, bit depth, compression, tiles, windows and
other header attributes; only the picture's R, G and B, the timecode and the colourspace change.
Without a template (a movie's frames, another format), each format's defaults (FORMAT_DEFAULTS).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import OpenImageIO as oiio

from gen1_batch import storage
from gen1_batch.media.files import MediaError, read_file
from gen1_batch.media.timecode import pack, unpack

PLATE_FORMATS = (".exr", ".dpx", ".png", ".tif", ".tiff")
# Without a template: pixel type, bits per sample, compression.
FORMAT_DEFAULTS: dict[str, tuple[str, int, str | None]] = {
    ".exr": ("half", 16, "zips"),  # what FFmpeg wrote before: half floats, one scanline per zip block
    ".png": ("uint16", 16, None),
    ".dpx": ("uint16", 10, None),  # 10-bit, the film scan habit
    ".tif": ("uint16", 16, "zip"),
    ".tiff": ("uint16", 16, "zip"),
}
_FLOATS = (oiio.BASETYPE.HALF, oiio.BASETYPE.FLOAT, oiio.BASETYPE.DOUBLE)


class PlateError(MediaError):
    """A frame file that cannot be read or written; the message names the file."""


@dataclass
class Plate:
    """One frame's picture (h×w×3 float32, as stored: no colour conversion) and what its header says."""

    pixels: np.ndarray
    timecode: str | None
    rate: Fraction | None
    pixel_aspect: float
    pixel_type: str  # OIIO's name: half, float, uint8, uint16, …
    bit_depth: int
    float_pixels: bool
    colorspace: str | None = None  # what the header names (an EXR's colorInteropID), if it names one
    layout: dict[str, Any] = field(default_factory=dict)  # parts, tiles, compression, windows (for the report)


@contextlib.contextmanager
def local_copy(url: str) -> Iterator[str]:
    """A local path for `url` (OpenImageIO reads files): the file itself, or a temporary copy."""
    if not storage.is_url(url) or url.startswith("file://"):
        yield url.removeprefix("file://")
        return
    data = read_file(url)
    with tempfile.TemporaryDirectory(prefix="gen1-plate-") as tmp:
        local = os.path.join(tmp, "frame" + os.path.splitext(url)[1])
        with open(local, "wb") as f:
            f.write(data)
        yield local


def _picture_channels(spec: oiio.ImageSpec) -> list[int] | None:
    """Indices of R, G, B in a part (or its one grey channel), or None when it holds no picture."""
    names = [n.rsplit(".", 1)[-1].upper() for n in spec.channelnames]
    if all(c in names for c in "RGB"):
        return [names.index(c) for c in "RGB"]
    return {1: [0, 0, 0], 2: [0, 0, 0], 3: [0, 1, 2]}.get(spec.nchannels)  # grey (and alpha), or unnamed RGB


def _specs(image: oiio.ImageInput) -> list[oiio.ImageSpec]:
    specs, part = [], 0
    while image.seek_subimage(part, 0):
        specs.append(oiio.ImageSpec(image.spec()))
        part += 1
    return specs


def _timecode(spec: oiio.ImageSpec) -> str | None:
    value = spec.getattribute("smpte:TimeCode")
    return unpack(int(value[0])) if value is not None else None


def _rate(spec: oiio.ImageSpec) -> Fraction | None:
    value = spec.getattribute("FramesPerSecond")
    if value is not None and value[1] and value[0] > 0:
        return Fraction(int(value[0]), int(value[1]))
    # A DPX header keeps its rate as a float: 23.976… is 24000/1001 (the NTSC rates' denominator).
    dpx = spec.get_float_attribute("dpx:FrameRate", 0.0)
    return Fraction(dpx).limit_denominator(1001) if dpx > 0 else None


def _layout(specs: list[oiio.ImageSpec]) -> dict[str, Any]:
    first = specs[0]
    return {"parts": [{"name": s.get_string_attribute("name") or None, "channels": list(s.channelnames),
                       "pixel_type": str(s.format), "tiles": [s.tile_width, s.tile_height] if s.tile_width else None,
                       "compression": s.get_string_attribute("compression") or None} for s in specs],
            "data_window": [first.x, first.y, first.x + first.width - 1, first.y + first.height - 1],
            "display_window": [first.full_x, first.full_y, first.full_x + first.full_width - 1,
                               first.full_y + first.full_height - 1]}


def read_plate(url: str) -> Plate:
    """The picture of one frame file and its header; a PlateError naming the file and the reason."""
    with local_copy(url) as path:
        if not os.path.exists(path):
            raise PlateError(f"{url}: file not found")
        if os.path.isdir(path):
            raise PlateError(f"{url}: is a folder, not a file")
        if not os.path.getsize(path):
            raise PlateError(f"{url}: empty file")
        image = oiio.ImageInput.open(path)
        if image is None:
            raise PlateError(f"{url}: cannot be decoded ({_error()})")
        try:
            specs = _specs(image)
            part = next((i for i, s in enumerate(specs) if _picture_channels(s) is not None), None)
            if part is None:
                raise PlateError(f"{url}: no part holds R, G and B channels")
            spec = specs[part]
            pixels = image.read_image(part, 0, 0, spec.nchannels, "float")
            if pixels is None:
                raise PlateError(f"{url}: cannot be decoded ({_error(image)})")
        finally:
            image.close()
    pixels = np.asarray(pixels, np.float32).reshape(spec.height, spec.width, spec.nchannels)
    bits = spec.get_int_attribute("oiio:BitsPerSample", spec.format.size() * 8)
    return Plate(pixels=np.ascontiguousarray(pixels[..., _picture_channels(spec)]), timecode=_timecode(spec),
                 rate=_rate(spec), pixel_aspect=spec.get_float_attribute("PixelAspectRatio", 1.0),
                 pixel_type=str(spec.format), bit_depth=bits, float_pixels=spec.format.basetype in _FLOATS,
                 colorspace=spec.get_string_attribute("colorInteropID") or None, layout=_layout(specs))


def _error(image: oiio.ImageInput | oiio.ImageOutput | None = None) -> str:
    message = (image.geterror() if image is not None else "") or oiio.geterror() or "unknown error"
    return message.strip().splitlines()[0]


def _stamp(spec: oiio.ImageSpec, timecode: str | None, rate: Fraction, colorspace: str | None,
           pixel_aspect: float | None) -> None:
    if timecode:
        spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, np.array([pack(timecode), 0], np.uint32))
    spec.attribute("FramesPerSecond", oiio.TypeRational, np.array([rate.numerator, rate.denominator], np.int32))
    spec.attribute("dpx:FrameRate", float(rate))  # where DPX keeps it (other formats ignore it)
    if colorspace:
        spec.attribute("oiio:ColorSpace", colorspace)
    if pixel_aspect:
        spec.attribute("PixelAspectRatio", float(pixel_aspect))
    if not spec.getattribute("DateTime"):  # else OIIO writes the time of writing (EXR capDate, TIFF DateTime)
        spec.attribute("DateTime", "")


def write_plate(path: str, rgb: np.ndarray, *, rate: Fraction, timecode: str | None, colorspace: str | None,
                template: str | None = None, pixel_aspect: float | None = None) -> None:
    """Write one frame file at the local `path`: `rgb` (h×w×3 float32, in `colorspace`) as its picture.

    With `template` (a local frame file of the same format and size), every part, channel and header
    attribute of the template is kept; otherwise the format's defaults (FORMAT_DEFAULTS).
    """
    extension = os.path.splitext(path)[1].lower()
    parts: list[tuple[oiio.ImageSpec, np.ndarray]] = []
    if template:
        image = oiio.ImageInput.open(template)
        if image is None:
            raise PlateError(f"{template}: cannot be read ({_error()})")
        try:
            specs = _specs(image)
            picture = next(i for i, s in enumerate(specs) if _picture_channels(s) is not None)
            for i, spec in enumerate(specs):
                pixels = image.read_image(i, 0, 0, spec.nchannels, "float")
                if pixels is None:
                    raise PlateError(f"{template}: cannot be read ({_error(image)})")
                pixels = np.array(pixels, np.float32).reshape(spec.height, spec.width, spec.nchannels)
                if i == picture:
                    channels = _picture_channels(spec)
                    if pixels.shape[:2] != rgb.shape[:2]:
                        raise PlateError(f"{template}: is {spec.width}x{spec.height}, the edit "
                                         f"{rgb.shape[1]}x{rgb.shape[0]}")
                    for c, index in enumerate(dict.fromkeys(channels)):
                        pixels[..., index] = rgb[..., c]
                _stamp(spec, timecode, rate, colorspace if i == picture else None, pixel_aspect)
                parts.append((spec, pixels))
        finally:
            image.close()
    else:
        pixel_type, bits, compression = FORMAT_DEFAULTS[extension]
        spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, pixel_type)
        spec.attribute("oiio:BitsPerSample", bits)
        if compression:
            spec.attribute("compression", compression)
        _stamp(spec, timecode, rate, colorspace, pixel_aspect)
        parts.append((spec, rgb))
    output = oiio.ImageOutput.create(path)
    if output is None:
        raise PlateError(f"{path}: no writer for {extension} ({_error()})")
    try:
        specs = [spec for spec, _ in parts]
        if not (output.open(path, specs) if len(specs) > 1 else output.open(path, specs[0])):
            raise PlateError(f"{path}: cannot be written ({_error(output)})")
        for i, (spec, pixels) in enumerate(parts):
            if i and not output.open(path, spec, "AppendSubimage"):
                raise PlateError(f"{path}: cannot add part {i} ({_error(output)})")
            if not output.write_image(np.ascontiguousarray(pixels, np.float32)):
                raise PlateError(f"{path}: cannot be written ({_error(output)})")
    finally:
        output.close()
