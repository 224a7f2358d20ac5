"""The public-weights backend end to end through `gen1 run`, at toy size (tiny-animatediff)."""

import json

import av
from PIL import Image

from gen1_batch.media.synthetic import synthetic_frames, write_synthetic_clip
from tests.helpers import gen1, write_manifest


def test_the_backend_edits_text_and_image_prompted_shots_through_the_cli(tmp_path):
    write_synthetic_clip(str(tmp_path / "a.mp4"), frames=20, width=64, height=48, fps="25", seed=1)
    Image.fromarray(synthetic_frames(1, 40, 40, seed=9)[0]).save(tmp_path / "look.png")
    manifest = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "text", "video": "a.mp4", "prompt": "a red car", "structure": 2, "temporal_scale": 1.5},
        {"shot_id": "image", "video": "a.mp4", "prompt": "a car", "image_prompt": "look.png",
         "output_format": "prores"},
    ])
    result = gen1("run", manifest, "--output", str(tmp_path / "out"), "--model", "tiny-animatediff", "--json")
    assert result.returncode == 0, result.stderr
    for shot_id, name in (("text", "text.mp4"), ("image", "image.mov")):
        report = json.loads((tmp_path / "out" / shot_id / "report.json").read_text())
        assert report["model"]["pipeline"] == "MotionDepthPipeline" and "ip_adapter" in report["model"]["components"]
        assert report["sampling"]["windows"]["length"] == 8  # the motion modules' context, from the preset
        with av.open(str(tmp_path / "out" / shot_id / name)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 20
    assert "reference_consistency" in json.loads((tmp_path / "out" / "image" / "report.json").read_text())["metrics"]
