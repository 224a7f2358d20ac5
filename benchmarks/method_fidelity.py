"""Method fidelity: the paper's claims measured on held-out toy-world shots (issue 14, item 4).

Each held-out scene (seeds `gen1_batch.toy.world.is_held_out` reserves, never trained on) is
rendered with its exact depth and masks and edited through the model's pipeline (the methods
`gen1_batch.edit` runs: estimate_depth, encode_content, generate) towards other materials: the
caption of the same shapes in those materials (text, through the prior) or a still of them
(reference image). One table is printed:

* structure error (the model's depth estimator on the output against the source's exact depth,
  scale and shift fitted) at t_s = 0, 1, 3, 5, 7, and at t_s = 0 with the structure input zeroed;
  the estimator on the source itself is its own floor;
* material share: the share of surfaces (objects, floor, background) whose colour and pattern,
  measured inside the exact masks without any CLIP, are the wanted ones, and the wanted colour's
  share split by surface; chance beside it; the same with the source's own middle frame as the
  content (its own materials wanted: the UNet alone, without the prior or another look), on the
  held-out scenes and on as many training scenes (what it fits, apart from what it generalises); the same
  for the source encoded and decoded by the autoencoder (what the UNet's latents can hold at best); and
  whether the content embedding carries each surface's colour at all (the prior's embedding of a
  caption against the CLIP embeddings of its still and of the still with that surface recoloured);
* frame consistency (CLIP, the report's metric) and flicker (mean change in the pixels static in
  the source) at ω_t = 0, 1, 1.5, on the same scenes with the camera held still;
* prompt consistency (CLIP) at ω = 1, 3, 7.5, and the material share of the same edits;
* seams on a long shot (300 frames, each frame's initial noise its own): the mean change between
  consecutive frames across a window start against inside windows, pyramid blending, S = W/2, with
  the window grid fixed and with it shifted from step to step (the default).

    python benchmarks/method_fidelity.py                    # the default model
    python benchmarks/method_fidelity.py --model tiny --scenes 3 --steps 2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from gen1_batch.api import cached_pipeline
from gen1_batch.model import metrics
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.shot import DEFAULTS
from gen1_batch.toy.dataset import REFERENCE_FRAME_GAP, target_materials
from gen1_batch.toy.measures import MaterialScore, flicker, material_share, static_pixels, structure_error
from gen1_batch.toy.render import Render, render, render_image
from gen1_batch.toy.world import COLOURS, Material, Scene, random_scene, seeds

STRUCTURE_LEVELS = (0, 1, 3, 5, 7)
TEMPORAL_SCALES = (0.0, 1.0, 1.5)
CONTENT_SCALES = (1.0, 3.0, 7.5)


@dataclass
class Shot:
    scene: Scene
    source: Render
    target: Scene
    reference: np.ndarray  # uint8 h×w×3: the target materials on the same shapes, after the clip


@contextmanager
def structure_zeroed(pipe):
    """The pipeline with its structure input replaced by zeros (the ablation the paper's claim is set against)."""
    prepare = pipe.prepare_structure
    pipe.prepare_structure = lambda depth, level: torch.zeros_like(prepare(depth, level))
    try:
        yield pipe
    finally:
        del pipe.prepare_structure


class Editor:
    """Edits through the pipeline, each (shot, text/image, t_s, ω, ω_t, ablation) once."""

    def __init__(self, model: str, steps: int | None):
        self.pipe = cached_pipeline(model)
        self.steps = steps
        self.done: dict[tuple, np.ndarray] = {}
        self.edits = 0
        self.seconds = 0.0

    def __call__(self, index: int, shot: Shot, by: str, structure: int = DEFAULTS["structure"],
                 content_scale: float = DEFAULTS["content_scale"],
                 temporal_scale: float = DEFAULTS["temporal_scale"], zeroed: bool = False) -> np.ndarray:
        key = (index, by, structure, content_scale, temporal_scale, zeroed)
        if key not in self.done:
            start = time.perf_counter()
            pipe = self.pipe
            depth = pipe.estimate_depth(shot.source.frames)
            image = {"image": shot.reference, "own": shot.source.frames[len(shot.source.frames) // 2]}.get(by)
            content = pipe.encode_content(shot.target.caption if by == "text" else None, image, seed=index)
            with structure_zeroed(pipe) if zeroed else _nothing():
                frames, _ = pipe.generate(depth, content, structure=structure, content_scale=content_scale,
                                          temporal_scale=temporal_scale, steps=self.steps, seed=index)
            self.done[key] = frames
            self.edits += 1
            self.seconds += time.perf_counter() - start
        return self.done[key]


@contextmanager
def _nothing():
    yield


def make_shots(count: int, frames: int, size: int, still_camera: bool, held_out: bool = True) -> list[Shot]:
    shots = []
    for seed in seeds(count, held_out=held_out):
        scene = random_scene(seed, camera_moves=False) if still_camera else random_scene(seed)
        target = scene.with_materials(target_materials(scene))
        shots.append(Shot(scene, render(scene, frames, size, size), target,
                          render_image(target, size, size, frame=frames + REFERENCE_FRAME_GAP)))
    return shots


def surfaces_of(scene: Scene, kind: str) -> list[int]:
    """The mask labels of one kind of surface: "objects", "floor" or "background"."""
    names = scene.surface_names
    return list(range(len(scene.objects))) if kind == "objects" else [names.index(kind, len(scene.objects))]


def recoloured(scene: Scene, label: int) -> Scene:
    """The scene with surface `label` in a colour no surface of it has (its pattern kept)."""
    materials = list(scene.materials)
    unused = next(c for c in COLOURS if c not in {m.colour for m in materials})
    materials[label] = Material(unused, materials[label].pattern)
    return scene.with_materials(materials)


def told_apart(pipe, scenes: list[Scene], size: int) -> dict[str, float]:
    """Per kind of surface, the share of scenes where the prior's embedding of the caption is nearer
    (cosine) to the CLIP embedding of the scene's still than to that of the still with one surface of
    that kind (the first object) recoloured: whether the content embedding carries that colour at
    all, before any UNet. Chance 0.5."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x)

    def still(scene: Scene) -> np.ndarray:
        return unit(pipe.embed_frames(render_image(scene, size, size)[None])[0])

    hits: dict[str, list[bool]] = {"objects": [], "floor": [], "background": []}
    for scene in scenes:
        wanted, own = unit(pipe.encode_content(scene.caption)["content"]), still(scene)
        for kind, found in hits.items():
            away = still(recoloured(scene, surfaces_of(scene, kind)[0]))
            found.append(bool(wanted @ own > wanted @ away))
    return {kind: float(np.mean(found)) for kind, found in hits.items()}


def seam_change(frames: np.ndarray, stride: int) -> tuple[float, float]:
    """Mean absolute change (0-255) between consecutive frames where the second starts a window of
    the fixed grid, and everywhere else."""
    change = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))  # change[i]: i -> i+1
    starts = (np.arange(1, len(frames)) % stride) == 0
    return float(change[starts].mean()), float(change[~starts].mean())


def mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(kept)) if kept else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    # 8 scenes (18 objects) move the objects' rows by about 0.1; 24 (54) rank toy UNets on them (RESULTS).
    parser.add_argument("--scenes", type=int, default=8, help="held-out scenes")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's)")
    parser.add_argument("--told-apart", type=int, default=20,
                        help="held-out scenes for the embedding's colour test (0: skip it)")
    parser.add_argument("--long-frames", type=int, default=300, help="the long shot's frames (0: skip it)")
    a = parser.parse_args()
    torch.manual_seed(0)
    edit = Editor(a.model, a.steps)
    pipe = edit.pipe
    shots = make_shots(a.scenes, a.frames, a.size, still_camera=False)
    still = make_shots(a.scenes, a.frames, a.size, still_camera=True)
    trained = make_shots(a.scenes, a.frames, a.size, still_camera=False, held_out=False)
    rows: list[tuple[str, str, str, str]] = []

    def structure_row(setting: str, outputs: Callable[[int, Shot], np.ndarray]) -> None:
        errors = [structure_error(pipe.estimate_depth(outputs(i, s)), s.source.depth) for i, s in enumerate(shots)]
        rows.append(("structure error ↓", setting, f"{mean(errors):.4f}", ""))

    structure_row("the source itself (the estimator's own error)", lambda i, s: s.source.frames)
    for level in STRUCTURE_LEVELS:
        structure_row(f"t_s = {level}", lambda i, s, level=level: edit(i, s, "text", structure=level))
    structure_row("t_s = 0, structure input zeroed", lambda i, s: edit(i, s, "text", structure=0, zeroed=True))

    def material_rows(name: str, setting: str, outputs: Callable[[int, Shot], np.ndarray],
                      wanted: Callable[[Shot], tuple[Material, ...]], shots: list[Shot] = shots) -> None:
        c = MaterialScore
        frames = [outputs(i, s) for i, s in enumerate(shots)]
        scores = [material_share(f, s.source.masks, wanted(s)) for f, s in zip(frames, shots, strict=True)]
        kept = [x for x in scores if x.surfaces]
        rows.append((f"material share ↑ ({name})", setting,
                     f"{mean([x.material for x in kept]):.3f} (colour {mean([x.colour for x in kept]):.3f}, "
                     f"pattern {mean([x.pattern for x in kept]):.3f}; {sum(x.surfaces for x in kept)} surfaces)",
                     f"{c.chance_material:.3f} (colour {c.chance_colour:.3f}, pattern {c.chance_pattern:.3f})"))
        by_kind = []
        for kind in ("objects", "floor", "background"):
            part = [material_share(f, s.source.masks, wanted(s), surfaces_of(s.scene, kind))
                    for f, s in zip(frames, shots, strict=True)]
            part = [x for x in part if x.surfaces]
            by_kind.append(f"{kind} {mean([x.colour for x in part]):.2f} ({sum(x.surfaces for x in part)})")
        rows.append((f"colour share by surface ↑ ({name})", setting, " / ".join(by_kind), f"{c.chance_colour:.3f}"))

    setting = f"t_s = {DEFAULTS['structure']}, ω = {DEFAULTS['content_scale']}"
    for by, name in (("image", "reference image"), ("text", "text, through the prior"),
                     ("own", "the source's own middle frame: the UNet alone")):
        material_rows(name, setting, lambda i, s, by=by: edit(i, s, by),
                      lambda s, by=by: s.scene.materials if by == "own" else s.target.materials)
    # The same on scenes it was trained on: what the UNet fits, apart from what it generalises.
    material_rows("a training scene's own middle frame: what the UNet fits", setting,
                  lambda i, s: edit(2 * a.scenes + i, s, "own"), lambda s: s.scene.materials, trained)
    # What the UNet's latents can hold at best: the source encoded and decoded, no diffusion.
    material_rows("the source through the autoencoder: the ceiling", "",
                  lambda i, s: pipe.decode_latents(pipe.encode_frames(s.source.frames)), lambda s: s.scene.materials)
    if a.told_apart:
        apart = told_apart(pipe, [random_scene(seed) for seed in seeds(a.told_apart, held_out=True)], a.size)
        rows.append(("content embedding carries the colour ↑", "the prior's embedding of the caption nearer "
                     "its still than the still with that surface recoloured",
                     " / ".join(f"{kind} {share:.2f}" for kind, share in apart.items()) + f" ({a.told_apart} scenes)",
                     "0.5"))
    source_materials = mean([material_share(s.source.frames, s.source.masks, s.scene.materials).material
                             for s in shots])
    rows.append(("material share ↑ (the source against its own materials: the measure's ceiling)", "",
                 f"{source_materials:.3f}", ""))

    source_consistency = mean([metrics.frame_consistency(pipe.embed_frames(s.source.frames)) for s in still])
    for scale in TEMPORAL_SCALES:
        outputs = [edit(a.scenes + i, s, "text", temporal_scale=scale) for i, s in enumerate(still)]
        consistency = mean([metrics.frame_consistency(pipe.embed_frames(o)) for o in outputs])
        flickers = mean([flicker(o, static_pixels(s.scene, s.source.masks)) for o, s in zip(outputs, still,
                                                                                            strict=True)])
        rows.append(("frame consistency ↑", f"ω_t = {scale}", f"{consistency:.4f}", f"source {source_consistency:.4f}"))
        rows.append(("flicker ↓ (still camera, static pixels)", f"ω_t = {scale}", f"{flickers:.4f}", "source 0"))

    for scale in CONTENT_SCALES:
        values = [metrics.prompt_consistency(pipe.embed_frames(edit(i, s, "text", content_scale=scale)),
                                             pipe.embed_text(s.target.caption)) for i, s in enumerate(shots)]
        rows.append(("prompt consistency ↑", f"ω = {scale}", f"{mean(values):.4f}", ""))
    for scale in (x for x in CONTENT_SCALES if x != DEFAULTS["content_scale"]):  # the default's rows are above
        material_rows("text, through the prior", f"t_s = {DEFAULTS['structure']}, ω = {scale}",
                      lambda i, s, scale=scale: edit(i, s, "text", content_scale=scale), lambda s: s.target.materials)

    if a.long_frames:
        scene = random_scene(seeds(1, held_out=True, start=20_000)[0])
        long = render(scene, a.long_frames, a.size, a.size)
        depth = pipe.estimate_depth(long.frames)
        content = pipe.encode_content(scene.with_materials(target_materials(scene)).caption, seed=0)
        source_at, source_inside = seam_change(long.frames, pipe.window_spec().stride)
        for shift in (False, True):
            window = pipe.window_spec(shift=shift)
            start = time.perf_counter()
            frames, _ = pipe.generate(depth, content, structure=DEFAULTS["structure"],
                                      content_scale=DEFAULTS["content_scale"],
                                      temporal_scale=DEFAULTS["temporal_scale"], steps=a.steps, seed=0,
                                      window=window)
            edit.seconds += time.perf_counter() - start
            edit.edits += 1
            at, inside = seam_change(frames, window.stride)
            rows.append(("seams: change across a window start / inside windows",
                         f"{a.long_frames} frames, W = {window.length}, S = {window.stride}, pyramid, grid "
                         f"{'shifted each step' if shift else 'fixed'}", f"{at:.2f} / {inside:.2f} = {at / inside:.3f}",
                         f"source {source_at:.2f} / {source_inside:.2f}"))

    print(f"model {a.model}; {a.scenes} held-out scenes (seeds {', '.join(str(s.scene.seed) for s in shots)}) "
          f"and {a.scenes} training scenes (seeds {', '.join(str(s.scene.seed) for s in trained)}), "
          f"{a.frames} frames at {a.size}×{a.size}, steps {a.steps or pipe.settings['default_steps']}; "
          f"{edit.edits} edits in {edit.seconds:.1f} s")
    print("\n| measure | setting | value | chance / reference |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
