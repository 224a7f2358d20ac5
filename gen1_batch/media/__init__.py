"""Studio media with PyAV: movies and image sequences in, review, editorial and compositing formats out."""

from gen1_batch.media.image import read_image
from gen1_batch.media.reader import MediaError, VideoInfo, probe, read_video, working_size
from gen1_batch.media.writer import (
    OUTPUT_FORMATS,
    check_timing,
    output_name,
    write_movie,
    write_output,
    write_sequence,
    write_video,
)

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
