"""The output formats a shot can be written in: plain facts (names, extensions, codecs, encoder
options) with no codec library behind them, so that the manifest's schema can name them without
loading PyAV or OpenImageIO. media.writer encodes with them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str
    codec: str
    pix_fmt: str
    bit_depth: int
    options: dict[str, str]
    sequence: bool = False
    float_pixels: bool = False  # holds scene-linear values above 1 (else a linear source goes out through the view)
    header_timecode: bool = False  # a sequence whose frames say their timecode in the header
    description: str = ""


FORMATS: dict[str, OutputFormat] = {
    # H.264 for review: plays in browsers and every editing suite. One thread: x264 otherwise picks its
    # thread count (and with PyAV's slice threading, the slices) from the CPUs the process may use, so
    # the same edit had other bytes on another machine or CPU affinity. A job encodes shots in parallel.
    "mp4": OutputFormat("mp4", ".mp4", "libx264", "yuv420p", 8, {"crf": "16", "preset": "medium", "threads": "1"},
                        description="H.264, review"),
    # ProRes 422 HQ (profile 3) for editorial.
    "prores": OutputFormat("prores", ".mov", "prores_ks", "yuv422p10le", 10, {"profile": "3", "vendor": "apl0"},
                           description="ProRes 422 HQ .mov, editorial"),
    # Sequences for compositing, through OpenImageIO (plates.FORMAT_DEFAULTS); a source of the same
    # format lends its layout, bit depth and compression.
    "png": OutputFormat("png", ".png", "png", "uint16", 16, {}, sequence=True, description="16-bit sequence"),
    "exr": OutputFormat("exr", ".exr", "exr", "half", 16, {"compression": "zips"}, sequence=True, float_pixels=True,
                        header_timecode=True, description="half-float sequence"),
    "dpx": OutputFormat("dpx", ".dpx", "dpx", "uint16", 10, {}, sequence=True, header_timecode=True,
                        description="10-bit sequence, e.g. for a log DPX scan"),
    "tiff": OutputFormat("tiff", ".tif", "tiff", "uint16", 16, {"compression": "zip"}, sequence=True,
                         description="16-bit sequence"),
}
OUTPUT_FORMATS = tuple(FORMATS)


def output_name(shot_id: str, output_format: str) -> str:
    """The file (or sequence pattern) a shot's edit is written to, inside its folder."""
    f = FORMATS[output_format]
    return f"{shot_id}.####{f.extension}" if f.sequence else shot_id + f.extension
