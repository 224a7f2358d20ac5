"""Encoding with PyAV. Frames are resized back to the source size one at a time while encoding."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import av
import numpy as np

from gen1_batch import storage

# output_format -> (file suffix, codec, codec options)
_FORMATS: dict[str, tuple[str, str, dict[str, str]]] = {
    # H.264 for review: plays in browsers and every editing suite.
    "mp4": (".mp4", "libx264", {"crf": "16", "preset": "medium"}),
}
OUTPUT_FORMATS = tuple(_FORMATS)


def output_name(shot_id: str, output_format: str) -> str:
    return shot_id + _FORMATS[output_format][0]


def write_video(frames: Iterable[np.ndarray], url: str, fps: Fraction, width: int, height: int,
                output_format: str = "mp4") -> dict[str, Any]:
    """Encode uint8 h×w×3 frames at `fps` and `width`×`height`, then commit the file to `url` atomically."""
    suffix, codec, options = _FORMATS[output_format]
    # 4:2:0 needs even sizes; an odd-sized source keeps its exact size in 4:4:4 instead.
    pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    with tempfile.TemporaryDirectory(prefix="gen1-encode-") as tmp:
        local = os.path.join(tmp, "out" + suffix)
        count = 0
        with av.open(local, mode="w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.options = options
            for array in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
                frame = frame.reformat(width=width, height=height, format=pix_fmt, interpolation="BICUBIC")
                frame.pts = count
                container.mux(stream.encode(frame))
                count += 1
            container.mux(stream.encode())
        size = os.path.getsize(local)
        storage.put_file_atomic(local, url)
    return {"url": url, "format": output_format, "codec": codec, "pix_fmt": pix_fmt, "width": width,
            "height": height, "fps": str(fps), "frames": count, "bytes": size}
