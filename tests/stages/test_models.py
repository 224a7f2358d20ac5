"""The model stages, called directly (no Ray): they run the pipeline's own methods, so a shot
edited stage by stage equals the same shot through `gen1_batch.edit`."""

import numpy as np

from gen1_batch import edit
from gen1_batch.config import JobConfig
from gen1_batch.manifest import load_manifest
from gen1_batch.model.loading import describe_model
from gen1_batch.stages.io import decode
from gen1_batch.stages.models import ContentStage, DepthStage, DiffusionStage
from gen1_batch.stages.row import batch_of, rows_of, shot_columns
from tests.helpers import write_manifest


def test_stage_by_stage_equals_the_one_shot_api(tmp_path, make_clip):
    make_clip("a.mp4", frames=10, width=64, height=48)
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "neon", "seed": 3,
                                                 "structure": 2, "temporal_scale": 1.5}])
    shot = load_manifest(url, {"resolution_multiple": 16})[0]
    job = JobConfig(manifest=url, output=str(tmp_path / "out"), model=describe_model("tiny"), device="cpu")
    batch = decode(batch_of([shot_columns(shot)]), job=job)
    frames = rows_of(batch)[0].frames.copy()
    for stage in (DepthStage, ContentStage, DiffusionStage):
        batch = stage(job)(batch)
    (row,) = rows_of(batch)
    assert row.error is None, row.error
    expected = edit(frames, "neon", seed=3, structure=2, temporal_scale=1.5, steps=shot.steps, device="cpu")
    np.testing.assert_array_equal(row.edited, expected)
    assert set(row.fingerprints) == {"depth_estimator", "image_encoder", "text_encoder", "tokenizer",
                                                   "prior", "prior_scheduler", "vae", "unet", "scheduler"}
