import pytest

from gen1_batch.manifest import ManifestError
from gen1_batch.media.synthetic import write_synthetic_clip
from gen1_batch.train.data import load_training_manifest, needs_problems
from tests.helpers import write_manifest


def test_every_bad_training_row_is_reported_in_one_pass(tmp_path):
    write_synthetic_clip(str(tmp_path / "a.mp4"), frames=10, width=32, height=32)
    url = write_manifest(tmp_path / "t.jsonl", [
        {"video": "a.mp4", "caption": "fine"},
        {"video": "missing.mp4"},
        {"caption": "nothing to train on"},
        {"video": "a.mp4", "image": "a.png"},
        {"video": "a.mp4", "split": "test", "colour": "red"},
    ])
    with pytest.raises(ManifestError) as e:
        load_training_manifest(url)
    assert [(p.row, p.column) for p in e.value.problems] == [
        (2, "video"), (3, "video"), (4, "video"), (5, "colour"), (5, "split")]
    assert "file not found" in str(e.value.problems[0])


def test_paths_are_relative_to_the_manifest(tmp_path):
    write_synthetic_clip(str(tmp_path / "a.mp4"), frames=10, width=32, height=32)
    rows = load_training_manifest(write_manifest(tmp_path / "t.jsonl", [{"video": "a.mp4", "split": "validation"}]))
    assert rows[0].url == str(tmp_path / "a.mp4") and rows[0].split == "validation"


def test_a_missing_mask_is_reported_and_a_recipe_weighing_masks_needs_rows_with_them(tmp_path):
    write_synthetic_clip(str(tmp_path / "a.mp4"), frames=10, width=32, height=32)
    url = write_manifest(tmp_path / "t.jsonl", [{"video": "a.mp4", "mask": "a.npz"}])
    with pytest.raises(ManifestError, match="file not found") as e:
        load_training_manifest(url)
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "mask")]
    rows = load_training_manifest(write_manifest(tmp_path / "u.jsonl", [{"video": "a.mp4"}]))
    needs_problems(rows, 0.125, url)
    with pytest.raises(ManifestError, match="no training row has a mask"):
        needs_problems(rows, 0.125, url, mask=True)
