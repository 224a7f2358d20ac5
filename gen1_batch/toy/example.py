"""The example manifest's media (manifests/media): held-out toy scenes, so that the default `toy`
model edits them for real, each in a form a studio sends (rates, sizes, a ProRes output, a
1001-numbered EXR plate in ACEScg):

    python -m gen1_batch.toy.example manifests/media

street.mp4    128×128 at 24000/1001, 48 frames     sh010: a text prompt, t_s = 1
courtyard.mp4 96×96 at 25, 36 frames               sh020: a reference image (look.png), t_s = 4, ω_t = 1.5, ProRes
dolly.mp4     160×160 at 30000/1001, 60 frames     sh030: frames 10–45, seed 42
plate/plate.1001–1012.exr  64×64 at 24, ACEScg     sh040: frames 1003–1010, EXR out
look.png      the courtyard's shapes in other materials, 16 frames after its clip: sh020's reference

The prompts of example.jsonl are captions of the same scenes in other materials (printed here).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from fractions import Fraction

import numpy as np

from gen1_batch.toy.dataset import REFERENCE_FRAME_GAP, target_materials, write_png
from gen1_batch.toy.render import render, render_image
from gen1_batch.toy.world import random_scene, seeds

# (file, seed index among the held-out seeds, width, height, rate, frames). Square, as the toy model
# saw its world (64×64): other shapes give it a canvas and a field of view it never trained on.
MOVIES = (("street.mp4", 0, 128, 128, Fraction(24000, 1001), 48),
          ("courtyard.mp4", 1, 96, 96, Fraction(25), 36),
          ("dolly.mp4", 2, 160, 160, Fraction(30000, 1001), 60))
PLATE = (3, 64, 64, Fraction(24), 1001, 12)  # seed index, width, height, rate, first frame, frames


def write_example_media(folder: str) -> dict[str, str]:
    """Write the media; returns each shot's target caption (the prompts of example.jsonl)."""
    from gen1_batch.media.colour import Colour, from_view
    from gen1_batch.media.plates import write_plate
    from gen1_batch.media.writer import write_video

    held_out = seeds(8, held_out=True, start=10_000)  # not the evaluation set's first seeds
    captions = {}
    for name, index, width, height, rate, frames in MOVIES:
        scene = random_scene(held_out[index])
        write_video(render(scene, frames, width, height).frames, os.path.join(folder, name), rate)
        target = scene.with_materials(target_materials(scene))
        captions[name] = target.caption
        if name == "courtyard.mp4":
            write_png(render_image(target, width, height, frame=frames + REFERENCE_FRAME_GAP),
                      os.path.join(folder, "look.png"))
    index, width, height, rate, first, frames = PLATE
    scene = random_scene(held_out[index])
    captions["plate"] = scene.with_materials(target_materials(scene)).caption
    colour = Colour.resolve(None, "ACEScg", None, "plate.exr")  # the view shows the render as rendered
    os.makedirs(os.path.join(folder, "plate"), exist_ok=True)
    for i, frame in enumerate(render(scene, frames, width, height).frames):
        linear = from_view(frame.astype(np.float32) / 255, colour).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:  # written whole, then moved into place
            path = os.path.join(tmp, "frame.exr")
            write_plate(path, linear, rate=rate, timecode=None, colorspace="ACEScg")
            os.replace(path, os.path.join(folder, "plate", f"plate.{first + i}.exr"))
    return captions


# The style `gen1 customize` is shown with: every surface purple dotted or yellow striped.
STYLE = (("purple", "dots"), ("yellow", "stripes"))


def write_style_stills(folder: str, count: int = 20, size: int = 64) -> list[str]:
    """`count` stills of training-set scenes (not held out) in one style, for `gen1 customize`."""
    from gen1_batch.toy.world import Material

    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, seed in enumerate(seeds(count, held_out=False, start=50_000)):
        scene = random_scene(seed)
        materials = [Material(*STYLE[(i + k) % len(STYLE)]) for k in range(len(scene.surface_names))]
        paths.append(os.path.join(folder, f"style{i:02d}.png"))
        write_png(render_image(scene.with_materials(materials), size, size), paths[-1])
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gen1_batch.toy.example", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="where to write the media (manifests/media)")
    parser.add_argument("--style", action="store_true",
                        help="write 20 stills in one style (purple dotted, yellow striped) instead, for gen1 customize")
    a = parser.parse_args(argv)
    if a.style:
        print("\n".join(write_style_stills(a.folder)))
        return
    for name, caption in write_example_media(a.folder).items():
        print(f"{name}: {caption}")


if __name__ == "__main__":
    main()
