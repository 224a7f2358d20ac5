"""`gen1 customize` as a user runs it: images in, a model folder out that `--model DIR` loads, and the
comparison of base and customized edits of the user's clip printed."""

import os
import re
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from gen1_batch.media.synthetic import write_synthetic_clip
from gen1_batch.model.loading import load_components


def test_customize_writes_a_model_with_a_changed_unet_and_prints_both_scores(tmp_path):
    rng = np.random.default_rng(0)
    images = []
    for i in range(4):
        path = tmp_path / f"style{i}.png"
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
        images.append(str(path))
    clip = tmp_path / "shot.mp4"
    write_synthetic_clip(str(clip), frames=10, width=64, height=48, seed=1)
    out = tmp_path / "custom"
    result = subprocess.run([sys.executable, "-m", "gen1_batch", "customize", *images, "--output", str(out),
                             "--model", "tiny", "--steps", "2", "--clip", str(clip)],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout + result.stderr
    line = re.search(r"reference consistency to the 4 images.*base (\S+), customized (\S+) \((higher|NOT higher)\)",
                     result.stdout)
    assert line, result.stdout
    base, custom = float(line[1]), float(line[2].rstrip(","))
    assert custom >= base if line[3] == "higher" else custom <= base  # (printed to 4 places)

    tuned, original = load_components(str(out), ["unet", "vae"]), load_components("tiny", ["unet", "vae"])
    unet_changed = [not torch.equal(a, b) for a, b in zip(tuned["unet"].state_dict().values(),
                                                          original["unet"].state_dict().values(), strict=True)]
    assert any(unet_changed)  # the LoRA adapters were merged into the UNet's own weights
    assert all(torch.equal(a, b) for a, b in zip(tuned["vae"].state_dict().values(),
                                                 original["vae"].state_dict().values(), strict=True))
