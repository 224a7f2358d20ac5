"""Studio media with PyAV: movies and image sequences in, review, editorial and compositing formats out.

The names below load their module (and with it PyAV or OpenImageIO) on first use, so that a light
module of the package (formats, timecode, sequence names) can be imported without the codecs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names are, for type checkers and readers; loaded by __getattr__ at run time
    from gen1_batch.media.formats import OUTPUT_FORMATS, output_name
    from gen1_batch.media.image import read_image
    from gen1_batch.media.reader import MediaError, VideoInfo, probe, read_video, working_size
    from gen1_batch.media.writer import check_timing, write_movie, write_output, write_sequence, write_video

_LAZY = {
    "OUTPUT_FORMATS": "formats", "output_name": "formats",
    "read_image": "image",
    "MediaError": "reader", "VideoInfo": "reader", "probe": "reader", "read_video": "reader", "working_size": "reader",
    "check_timing": "writer", "write_movie": "writer", "write_output": "writer", "write_sequence": "writer",
    "write_video": "writer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OUTPUT_FORMATS",
    "MediaError",
    "VideoInfo",
    "check_timing",
    "output_name",
    "probe",
    "read_image",
    "read_video",
    "working_size",
    "write_movie",
    "write_output",
    "write_sequence",
    "write_video",
]
