import fsspec
import pytest

from gen1_batch.errors import ShotError
from gen1_batch.media.sequence import frame_range, frames_on_disk, is_sequence, parse


@pytest.mark.parametrize("pattern, padding, frames", [
    ("/plates/plate.%04d.exr", 4, None),
    ("/plates/plate.####.exr", 4, None),
    ("/plates/plate.1001-1100#.exr", 4, (1001, 1100)),
    ("/plates/plate.@@@@@.dpx", 5, None),
    ("/plates/plate.$F4.png", 4, None),
    ("s3://studio/plates/plate.##.tif", 2, None),
])
def test_the_studio_pattern_styles(pattern, padding, frames):
    seq = parse(pattern)
    assert is_sequence(pattern) and seq.padding == padding and seq.head == "plate."
    assert (seq.frames[0], seq.frames[-1]) == frames if frames else seq.frames is None
    assert seq.path(1001).endswith(f"plate.{1001:0{padding}d}{seq.tail}")


def test_movies_are_not_sequences():
    assert not is_sequence("/plates/shot.mp4") and not is_sequence("/plates/plate.####.mov")


def test_frames_are_found_on_any_store_and_gaps_name_the_missing_file():
    fs = fsspec.filesystem("memory")
    for n in (1001, 1002, 1003, 1005, 10000):
        fs.pipe(f"/seq/plate.{n:04d}.exr", b"x")
    fs.pipe("/seq/plate.0999.exr.tmp-1", b"x")
    fs.pipe("/seq/other.1001.exr", b"x")
    fs.pipe("/seq/plate.1004.exr\n", b"x")  # names are matched whole: a trailing newline is another file
    fs.pipe("/seq/plate.\u0661\u0660\u0660\u0664.exr", b"x")  # and frame numbers are ASCII digits
    seq = parse("memory://seq/plate.####.exr")
    assert frames_on_disk(seq) == [1001, 1002, 1003, 1005, 10000]
    assert frame_range(seq, 1001, 1003) == [1001, 1002, 1003]
    with pytest.raises(ShotError, match=r"plate\.1004\.exr: frame 1004 is missing"):
        frame_range(seq, 1001, 1005)
    with pytest.raises(ShotError, match="outside the sequence"):
        frame_range(seq, 990, 1002)


def test_the_quick_reading_of_common_patterns_is_what_fileseq_reads():
    import itertools

    import fileseq

    from gen1_batch.media import sequence

    heads = ["plate.", "plate", "plate_v2.", "sh010.1.", "", "v001-plate."]
    paddings = ["#", "####", "#####", "@", "@@@@", "%04d", "%d", "%4d", "$F4", "$F"]
    tails = [".exr", ".final.exr", "_x.exr", ".EXR"]
    for name in map("".join, itertools.product(heads, paddings, tails)):
        quick = sequence._simple(name)
        parsed = fileseq.FileSequence(name, pad_style=fileseq.PAD_STYLE_HASH1)
        pad = parsed.padding()
        width = 4 if pad == "#" else fileseq.FileSequence.getPaddingNum(pad, pad_style=fileseq.PAD_STYLE_HASH1)
        assert quick == (parsed.basename(), width, parsed.extension()) and parsed.frameSet() is None, name
    assert sequence._simple("plate.1001-1100#.exr") is None  # a frame range: fileseq reads it
