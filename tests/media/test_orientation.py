import itertools
import struct

import av
import numpy as np
import pytest

from gen1_batch.errors import ShotError
from gen1_batch.media import orientation


def matrix_of(degrees, hflip, vflip):
    """FFmpeg's own display matrix for a turn and mirrors (through PyAV, as a muxer writes it),
    with the rotation FFmpeg reads back from it."""
    import io

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("mjpeg", rate=24)
        stream.width, stream.height, stream.pix_fmt = 16, 8, "yuvj420p"
        stream.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((8, 16, 3), np.uint8), format="rgb24")
                              .reformat(format="yuvj420p")))
        out.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        frame = next(container.decode(video=0))
        data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        return (list(struct.unpack("=9i", bytes(data))) if data else None), frame.rotation


ORIENTATIONS = list(itertools.product((0, 90, 180, -90), (False, True), (False, True)))


@pytest.mark.parametrize("degrees, hflip, vflip", ORIENTATIONS)
def test_turning_back_undoes_turning_for_every_orientation(degrees, hflip, vflip):
    matrix, ffmpeg_rotation = matrix_of(degrees, hflip, vflip)
    image = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    shown = orientation.to_display(image, matrix)
    np.testing.assert_array_equal(orientation.to_stored(shown, matrix), image)
    assert shown.shape[:2][::-1] == orientation.display_size(6, 4, matrix)
    assert round(orientation.rotation(matrix)) % 360 == ffmpeg_rotation % 360  # what ffprobe prints


def test_a_matrix_that_is_no_quarter_turn_is_refused():
    matrix, _ = matrix_of(45, False, False)
    with pytest.raises(ShotError, match=r"turns the picture by -?45\.0 degrees"):
        orientation.to_display(np.zeros((2, 2, 3)), matrix)
