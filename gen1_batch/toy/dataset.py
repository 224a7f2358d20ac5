"""Toy scenes on disk: clips and stills with their truth, a training manifest and an evaluation manifest.

    python -m gen1_batch.toy.dataset OUT --clips 200 --images 100 --evaluation 8

writes, under OUT (a folder or any fsspec URL):

    clips/toy000001.mp4 (+ .npz, .json)   training clips (seeds that are not held out)
    images/toy000212.png (+ .npz, .json)  training stills (the next training seeds)
    evaluation/toy000000.mp4 (+ …)        held-out shots, and for each a reference still
                                          toy000000-reference.png: the same shapes in the target materials
    train.jsonl                           `gen1 train --data`: rows with video or image, caption, exact
                                          depth and the objects' mask (the .npz); the first --validation
                                          evaluation clips as split=validation rows
    evaluation.jsonl                      `gen1 run`: two shots per held-out scene, one edited towards the
                                          target's caption (<id>-text), one towards its reference (<id>-image)

Each shot's .npz holds `depth` (f×h×w float32, world units along the camera axis), `masks` (f×h×w
uint8, index into `surface_names`), `surface_names` and `mask` (f×h×w uint8, 1 on the objects); its
.json holds the scene (re-renderable with `Scene.from_dict`), its caption, and for evaluation shots
the `target` materials.
"""

from __future__ import annotations

import argparse
import io
import json
from fractions import Fraction
from typing import Any

import numpy as np

from gen1_batch import storage
from gen1_batch.toy.render import Render, render, render_image
from gen1_batch.toy.world import Material, Scene, random_materials, random_scene, seeds

REFERENCE_FRAME_GAP = 16  # the reference still is taken this many frames after the clip: not one of its frames


def shot_name(seed: int) -> str:
    return f"toy{seed:06d}"


def write_truth(url_stem: str, scene: Scene, rendered: Render, extra: dict[str, Any] | None = None) -> None:
    """`<stem>.npz` (depth, masks, surface names) and `<stem>.json` (scene, caption, anything extra)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, depth=rendered.depth, masks=rendered.masks, surface_names=np.array(scene.surface_names),
                        mask=(rendered.masks < len(scene.objects)).astype(np.uint8))
    storage.write_bytes_atomic(url_stem + ".npz", buffer.getvalue())
    storage.write_json_atomic(url_stem + ".json", {"scene": scene.to_dict(), "caption": scene.caption,
                                                   "frames": len(rendered.frames), **(extra or {})})


def write_clip(scene: Scene, url_stem: str, frames: int = 8, width: int = 64, height: int = 64,
               fps: Fraction = Fraction(24), extra: dict[str, Any] | None = None) -> Render:
    """A scene as `<stem>.mp4` (through the project's media writer, so `gen1 run` reads it) with its truth."""
    from gen1_batch.media.writer import write_video

    rendered = render(scene, frames, width, height)
    write_video(rendered.frames, url_stem + ".mp4", fps)
    write_truth(url_stem, scene, rendered, extra)
    return rendered


def write_png(image: np.ndarray, url: str) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    storage.write_bytes_atomic(url, buffer.getvalue())


def write_still(scene: Scene, url_stem: str, width: int = 64, height: int = 64, frame: int = 0) -> Render:
    """A scene's still as `<stem>.png`, with its truth."""
    rendered = render(scene, 1, width, height, start=frame)
    write_png(rendered.frames[0], url_stem + ".png")
    write_truth(url_stem, scene, rendered)
    return rendered


def read_shot(url_stem: str) -> tuple[Scene, dict[str, Any]]:
    """The scene of a written shot and everything its .json says."""
    data = storage.read_json(url_stem + ".json")
    return Scene.from_dict(data["scene"]), data


def target_materials(scene: Scene) -> tuple[Material, ...]:
    """Materials an evaluation edit asks for: distinct colours, and every surface changes (reproducible)."""
    rng = np.random.default_rng([scene.seed, 1414])
    while True:
        target = random_materials(rng, len(scene.materials))
        if all(t != m for t, m in zip(target, scene.materials, strict=True)):
            return target


def write_dataset(out: str, clips: int, images: int, evaluation: int, validation: int = 2, frames: int = 8,
                  width: int = 64, height: int = 64, start: int = 0) -> dict[str, str]:
    """Write the training set and the held-out evaluation shots; returns the two manifests' URLs."""
    training = seeds(clips + images, held_out=False, start=start)
    rows: list[dict[str, Any]] = []
    for seed in training[:clips]:
        scene = random_scene(seed)
        write_clip(scene, storage.join(out, "clips", shot_name(seed)), frames, width, height)
        rows.append({"video": f"clips/{shot_name(seed)}.mp4", "caption": scene.caption,
                     "depth": f"clips/{shot_name(seed)}.npz", "mask": f"clips/{shot_name(seed)}.npz"})
    for seed in training[clips:]:
        scene = random_scene(seed)
        write_still(scene, storage.join(out, "images", shot_name(seed)), width, height)
        rows.append({"image": f"images/{shot_name(seed)}.png", "caption": scene.caption,
                     "depth": f"images/{shot_name(seed)}.npz", "mask": f"images/{shot_name(seed)}.npz"})
    shots: list[dict[str, Any]] = []
    for seed in seeds(evaluation, held_out=True, start=start):
        scene, name = random_scene(seed), shot_name(seed)
        target = scene.with_materials(target_materials(scene))
        stem = storage.join(out, "evaluation", name)
        write_clip(scene, stem, frames, width, height,
                   extra={"target": [m.__dict__ for m in target.materials], "target_caption": target.caption})
        write_png(render_image(target, width, height, frame=frames + REFERENCE_FRAME_GAP), stem + "-reference.png")
        video = f"evaluation/{name}.mp4"
        shots += [{"shot_id": f"{name}-text", "video": video, "prompt": target.caption},
                  {"shot_id": f"{name}-image", "video": video, "image_prompt": f"evaluation/{name}-reference.png"}]
        if len(rows) < clips + images + validation:
            rows.append({"video": video, "caption": scene.caption, "split": "validation"})
    manifests = {"train": storage.join(out, "train.jsonl"), "evaluation": storage.join(out, "evaluation.jsonl")}
    for key, table in (("train", rows), ("evaluation", shots)):
        storage.write_bytes_atomic(manifests[key], "".join(json.dumps(r) + "\n" for r in table).encode())
    return manifests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gen1_batch.toy.dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="folder or fsspec URL to write to")
    parser.add_argument("--clips", type=int, default=100, help="training clips")
    parser.add_argument("--images", type=int, default=50, help="training stills")
    parser.add_argument("--evaluation", type=int, default=8, help="held-out scenes (two shots each)")
    parser.add_argument("--validation", type=int, default=2, help="evaluation clips also listed as split=validation")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--start", type=int, default=0, help="first seed")
    a = parser.parse_args(argv)
    manifests = write_dataset(a.out, a.clips, a.images, a.evaluation, a.validation, a.frames, a.width, a.height,
                              a.start)
    print(f"training manifest: {manifests['train']}\nevaluation manifest: {manifests['evaluation']}")


if __name__ == "__main__":
    main()
