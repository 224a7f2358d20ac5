"""Shots for the stage tests, resolved from a one-row manifest as a run resolves them."""

import pytest

from gen1_batch.manifest import load_manifest
from tests.helpers import write_manifest


@pytest.fixture
def make_shot(tmp_path):
    """make_shot(shot_id="sh1", **columns) -> the resolved Shot of a manifest row (paths relative to tmp_path)."""

    def make(shot_id: str = "sh1", **columns):
        row = {"shot_id": shot_id, "video": "a.mp4", "prompt": "p", **columns}
        url = write_manifest(tmp_path / f"{shot_id}.jsonl", [row])
        return load_manifest(url, size_multiple=16)[0]

    return make
