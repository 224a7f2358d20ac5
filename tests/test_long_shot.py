"""A 600-frame shot end to end through `gen1 run`: windows make any length edit in bounded memory."""

import json

import av

from gen1_batch.media.synthetic import write_synthetic_clip
from tests.helpers import gen1, write_manifest


def test_a_600_frame_shot_runs_end_to_end_through_the_cli(tmp_path):
    write_synthetic_clip(str(tmp_path / "long.mp4"), frames=600, width=64, height=48, fps="25", seed=4)
    manifest = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "long", "video": "long.mp4", "prompt": "p",
                                                      "steps": 2}])
    result = gen1("run", manifest, "--output", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "long" / "report.json").read_text())
    windows = report["sampling"]["windows"]
    assert (windows["frames"], windows["length"], windows["stride"]) == (600, 8, 4)
    assert report["output"]["frames"] == 600
    with av.open(str(tmp_path / "out" / "long" / "long.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 600
