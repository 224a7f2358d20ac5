import io
import struct

import av
import numpy as np

from gen1_batch.media.headers import DPX_TIMECODE_OFFSET, dpx_timecode, exr_timecode, exr_with_timecode
from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.media.timecode import pack
from gen1_batch.media.writer import write_video


def test_an_exr_takes_a_timecode_and_still_decodes_to_the_same_pixels(tmp_path):
    write_video(synthetic_frames(1, 40, 24), str(tmp_path / "p.####.exr"), 24, "exr")
    plain = (tmp_path / "p.1001.exr").read_bytes()
    stamped = exr_with_timecode(plain, "01:02:03:04")
    assert exr_timecode(plain) is None and exr_timecode(stamped) == "01:02:03:04"
    assert exr_timecode(exr_with_timecode(stamped, "02:00:00:00")) == "02:00:00:00"  # replaced in place

    def pixels(data):
        with av.open(io.BytesIO(data), format="exr_pipe") as c:
            return next(c.decode(video=0)).reformat(format="gbrpf32le").to_ndarray()

    assert np.array_equal(pixels(stamped), pixels(plain))


def test_a_dpx_timecode_is_read_from_the_television_header(tmp_path):
    with av.open(str(tmp_path / "p.%04d.dpx"), "w", format="image2", options={"start_number": "1001"}) as out:
        stream = out.add_stream("dpx", rate=24)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "rgb48le"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 32, 3), np.uint16), format="rgb48le")
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    data = bytearray((tmp_path / "p.1001.dpx").read_bytes())
    order = ">" if data[:4] == b"SDPX" else "<"
    struct.pack_into(f"{order}I", data, DPX_TIMECODE_OFFSET, pack("10:00:00:12"))
    assert dpx_timecode(bytes(data)) == "10:00:00:12"
