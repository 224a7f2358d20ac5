"""Display matrices: how players turn or mirror a movie's stored picture (a phone held upright
stores its frames sideways and says so in the container).

The matrix is FFmpeg's (libavutil/display.h): nine integers, row-major `a b u / c d v / x y w`,
mapping a stored pixel (p, q) to the shown one (a·p + c·q, b·p + d·q) up to a shift. Only quarter
turns and mirrors are supported, which is what cameras and editors write; the result is what
ffmpeg's and ffplay's autorotation show.
"""

from __future__ import annotations

import math
import struct

import av
import numpy as np

from gen1_batch.errors import ShotError

IDENTITY = (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)


def frame_matrix(frame: av.VideoFrame) -> list[int] | None:
    """The display matrix a decoded frame carries (from the container or the bitstream), or None
    when the picture is shown as stored."""
    data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    if data is None:
        return None
    matrix = list(struct.unpack("=9i", bytes(data)))
    return None if tuple(matrix) == IDENTITY else matrix


def rotation(matrix: list[int] | None) -> float:
    """Degrees the matrix turns the picture counter-clockwise, as ffprobe prints it (`rotation`)."""
    if not matrix:
        return 0.0
    a, b, c, d = matrix[0], matrix[1], matrix[3], matrix[4]
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    if not scale_x or not scale_y:
        return 0.0
    return -math.degrees(math.atan2(b / scale_y, a / scale_x)) + 0.0  # + 0.0: no "-0.0"


def _signs(matrix: list[int]) -> tuple[int, int, int, int]:
    """The matrix's 2×2 part as signs (a, b, c, d), if it is a quarter turn and/or a mirror."""
    a, b, c, d = (int(np.sign(v)) for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
    if (a and d and not b and not c) or (b and c and not a and not d):
        return a, b, c, d
    raise ShotError(f"the display matrix turns the picture by {rotation(matrix):.1f} degrees; only quarter turns "
                    "and mirrors are supported")


def check(matrix: list[int] | None) -> None:
    """Raise ShotError for a display matrix this module cannot apply."""
    if matrix:
        _signs(matrix)


def _apply(image: np.ndarray, a: int, b: int, c: int, d: int) -> np.ndarray:
    if a == 0:  # a quarter turn: the axes swap, then mirror as the signs say
        image, mirror_x, mirror_y = image.swapaxes(0, 1), c, b
    else:
        mirror_x, mirror_y = a, d
    if mirror_x < 0:
        image = image[:, ::-1]
    if mirror_y < 0:
        image = image[::-1]
    return image


def to_display(image: np.ndarray, matrix: list[int] | None) -> np.ndarray:
    """A stored h×w×c picture as players show it."""
    return image if not matrix else _apply(image, *_signs(matrix))


def to_stored(image: np.ndarray, matrix: list[int] | None) -> np.ndarray:
    """The inverse of `to_display`: a shown picture back in the stored orientation (the inverse of
    a quarter turn or mirror is its transpose)."""
    if not matrix:
        return image
    a, b, c, d = _signs(matrix)
    return _apply(image, a, c, b, d)


def display_size(width: int, height: int, matrix: list[int] | None) -> tuple[int, int]:
    """The (width, height) players show for a stored width×height picture."""
    if matrix and _signs(matrix)[0] == 0:
        return height, width
    return width, height
