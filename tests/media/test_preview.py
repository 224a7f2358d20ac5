"""A shot's report pictures: a contact sheet of frames spread over the shot, a thumbnail, the reference, and a clip
that plays in a browser, all of the picture without the canvas padding."""

import av
import numpy as np
import pytest
from PIL import Image

from gen1_batch.media.canvas import Canvas
from gen1_batch.media.preview import LABEL_HEIGHT, TILE_HEIGHT, contact_sheet, sample_indices, write_artifacts
from gen1_batch.media.synthetic import synthetic_frames

# 64×48 pictures at the top left of an 80×64 canvas, its padding a colour the pictures never have
LAYOUT = Canvas(width=80, height=64, content_width=64, content_height=48)


def on_canvas(frames: np.ndarray, fill: int = 255) -> np.ndarray:
    canvas = np.full((*frames.shape[:-3], LAYOUT.height, LAYOUT.width, *frames.shape[3:]), fill, frames.dtype)
    canvas[..., : LAYOUT.content_height, : LAYOUT.content_width, :] = frames
    return canvas


@pytest.mark.parametrize("count", [1, 5, 6, 7, 240])
def test_the_sampled_frames_spread_over_the_shot_first_and_last_included(count):
    indices = sample_indices(count)
    assert indices == sorted(set(indices)) and len(indices) == min(count, 6)
    assert indices[0] == 0 and indices[-1] == count - 1
    assert max(np.diff(indices), default=0) - min(np.diff(indices), default=0) <= 1  # evenly


def runs(pixels: np.ndarray, colours: dict[str, tuple[int, int, int]]) -> list[str]:
    """The named colours a line of pixels passes through, in order (other pixels skipped)."""
    names = [next((n for n, c in colours.items() if np.abs(p.astype(int) - c).max() < 40), None) for p in pixels]
    return [n for i, n in enumerate(names) if n and (i == 0 or names[i - 1] != n)]


def test_a_contact_sheet_has_a_row_of_input_depth_and_output_per_frame():
    colours = {"input": (200, 30, 30), "depth": (255, 255, 255), "output": (30, 30, 200)}
    source = np.broadcast_to(np.uint8(colours["input"]), (3, 48, 64, 3))
    edited = np.broadcast_to(np.uint8(colours["output"]), (3, 48, 64, 3))
    sheet = np.asarray(contact_sheet(source, np.ones((3, 48, 64), np.float16), edited, [1001, 1005, 1009]))
    middle_of_first_row = LABEL_HEIGHT + TILE_HEIGHT // 2
    assert runs(sheet[middle_of_first_row], colours) == ["input", "depth", "output"]  # near depth is white
    assert runs(sheet[:, sheet.shape[1] // 2], colours) == ["depth"] * 3  # one row per frame


def write(tmp_path, output_format: str, edited: bool = True, reference: bool = True) -> dict[str, str]:
    frames = synthetic_frames(8, 64, 48)
    return write_artifacts(str(tmp_path), frames=on_canvas(frames), depth=on_canvas(np.zeros((8, 48, 64, 1)))[..., 0],
                           edited=on_canvas(255 - frames) if edited else None,
                           reference=frames[0] if reference else None, layout=LAYOUT, first_frame=1001, fps="24",
                           output_url=str(tmp_path / f"sh010.{output_format}"), output_format=output_format)


def test_an_mp4_edit_is_the_pages_clip_itself(tmp_path):
    written = write(tmp_path, "mp4")
    assert written == {"reference": "reference.jpg", "contact": "contact.jpg", "thumbnail": "thumb.jpg",
                       "video": "sh010.mp4"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contact.jpg", "reference.jpg", "thumb.jpg"]


@pytest.mark.parametrize("output_format", ["prores", "exr"])
def test_an_edit_a_browser_cannot_play_gets_an_h264_preview_of_every_frame_without_the_padding(tmp_path,
                                                                                               output_format):
    assert write(tmp_path, output_format)["video"] == "preview.mp4"
    with av.open(str(tmp_path / "preview.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 48)
        assert sum(1 for _ in container.decode(stream)) == 8
    with Image.open(tmp_path / "thumb.jpg") as thumb:
        assert abs(thumb.width / thumb.height - 64 / 48) < 0.05  # the picture's aspect, not the canvas's


def test_a_shot_without_an_edit_keeps_only_its_reference(tmp_path):
    assert write(tmp_path, "mp4", edited=False) == {"reference": "reference.jpg"}
    assert write(tmp_path / "none", "mp4", edited=False, reference=False) == {}
