"""Timecode in image-sequence headers: EXR's `timeCode` attribute and DPX's television header.

FFmpeg decodes both formats but does not expose (or, for EXR, write) their timecode, so these few
header fields are read and written here directly.
"""

from __future__ import annotations

import math
import struct

from gen1_batch.media.timecode import pack, unpack

EXR_MAGIC = b"\x76\x2f\x31\x01"
# Scanlines per chunk for each EXR compression (the offset table has one entry per chunk).
EXR_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
DPX_TIMECODE_OFFSET = 1920  # television information header, "time code" field


def _exr_attributes(data: bytes) -> tuple[dict[str, tuple[str, int, int]], int]:
    """Attribute name -> (type, value offset, size), and the offset of the header's closing null byte."""
    if data[:4] != EXR_MAGIC:
        raise ValueError("not an OpenEXR file")
    attributes, pos = {}, 8
    while data[pos] != 0:
        name_end = data.index(b"\x00", pos)
        type_end = data.index(b"\x00", name_end + 1)
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        name, kind = data[pos:name_end].decode(), data[name_end + 1: type_end].decode()
        attributes[name] = (kind, type_end + 5, size)
        pos = type_end + 5 + size
    return attributes, pos


def exr_timecode(data: bytes) -> str | None:
    attributes, _ = _exr_attributes(data)
    if "timeCode" not in attributes:
        return None
    _, at, _ = attributes["timeCode"]
    return unpack(struct.unpack_from("<I", data, at)[0])


def exr_with_timecode(data: bytes, timecode: str) -> bytes:
    """The same single-part scanline EXR with a `timeCode` attribute (FFmpeg writes none)."""
    (version,) = struct.unpack_from("<I", data, 4)
    if version & 0x1200:  # tiled (0x200) or multi-part (0x1000): not what FFmpeg writes
        raise ValueError("only single-part scanline EXR files take a timecode here")
    attributes, end = _exr_attributes(data)
    value = struct.pack("<II", pack(timecode), 0)
    if "timeCode" in attributes:
        _, at, _ = attributes["timeCode"]
        return data[:at] + value + data[at + 8:]
    attribute = b"timeCode\x00timecode\x00" + struct.pack("<i", 8) + value
    _, window_at, _ = attributes["dataWindow"]
    _, y_min, _, y_max = struct.unpack_from("<iiii", data, window_at)
    _, compression_at, _ = attributes["compression"]
    chunks = math.ceil((y_max - y_min + 1) / EXR_LINES_PER_CHUNK[data[compression_at]])
    table_at = end + 1
    offsets = struct.unpack_from(f"<{chunks}Q", data, table_at)
    shifted = struct.pack(f"<{chunks}Q", *(o + len(attribute) for o in offsets))
    return data[:end] + attribute + data[end: table_at] + shifted + data[table_at + 8 * chunks:]


def dpx_timecode(data: bytes) -> str | None:
    if data[:4] not in (b"SDPX", b"XPDS") or len(data) < DPX_TIMECODE_OFFSET + 4:
        return None
    order = ">" if data[:4] == b"SDPX" else "<"
    return unpack(struct.unpack_from(f"{order}I", data, DPX_TIMECODE_OFFSET)[0])


def header_timecode(data: bytes, extension: str) -> str | None:
    """The timecode in an EXR or DPX frame's header, if it has one."""
    try:
        if extension == ".exr":
            return exr_timecode(data)
        if extension == ".dpx":
            return dpx_timecode(data)
    except (ValueError, struct.error, IndexError):
        return None
    return None
