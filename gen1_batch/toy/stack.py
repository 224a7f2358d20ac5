"""Train the whole toy Gen-1 stack from scratch, with `gen1 train`'s engine, in one command:

    python -m gen1_batch.toy.stack OUT [--workers 1] [--gpus-per-worker 0] [--steps-scale 1.0]

1. the toy world's training set (gen1_batch.toy.dataset) in OUT/data, unless it is there;
2. each toy recipe in turn (gen1_batch/train/recipes/toy-*.toml), each starting from the model
   folder the one before wrote (the first from `toy-init`, seeded random weights): the depth
   estimator, CLIP, the prior, the autoencoder, the UNet through the paper's four stages, the
   autoencoder's decoder alone (its latents unchanged), then the UNet's last stage continued, at
   the last with its rate decaying to 0;
3. the last model folder is the toy stack: OUT/model (what the `toy` preset ships).

Run again after a stop, it continues: finished stages are kept, a stopped one resumes from its
last checkpoint. It prints each stage's time and loss; the numbers in the README come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from typing import Any

from gen1_batch import storage
from gen1_batch.train.recipe import recipe_files

# The toy world's training set: clips of 16 frames (8-frame clips 2 apart), stills, held-out shots.
DATASET = {"clips": 300, "images": 300, "evaluation": 8, "validation": 2, "frames": 16, "width": 64, "height": 64}


def toy_recipes() -> list[str]:
    """The toy stack's recipes in stage order: by the number after `toy-`, so toy-10 follows toy-9."""
    names = [name for name in recipe_files() if name.startswith("toy-")]
    return sorted(names, key=lambda name: int(name.split("-")[1]))


def train_stack(out: str, workers: int = 1, steps_scale: float = 1.0, gpus_per_worker: float = 0.0,
                say: Any = print) -> dict[str, Any]:
    from gen1_batch.toy.dataset import write_dataset
    from gen1_batch.train.recipe import load_recipe
    from gen1_batch.train.run import MODEL_NAME, TrainOptions, train

    data = storage.join(out, "data")
    manifest = storage.join(data, "train.jsonl")
    if not storage.exists(manifest):
        started = time.monotonic()
        write_dataset(data, **{k: v for k, v in DATASET.items()})
        say(f"dataset: {DATASET['clips']} clips, {DATASET['images']} stills in {time.monotonic() - started:.0f} s")
    model = "toy-init"
    stages = []
    for name in toy_recipes():
        steps = max(1, round(load_recipe(name).steps * steps_scale))
        output = storage.join(out, name)
        # The training worker takes every core: its preprocessing actor mostly waits on it.
        threads = max(1, (os.cpu_count() or 1) // workers)
        result = train(TrainOptions(recipe=name, data=manifest, output=output, model=model, steps=steps,
                                    workers=workers, gpus_per_worker=gpus_per_worker, torch_threads=threads),
                       say=lambda line, name=name: say(f"{name}: {line}"))
        stages.append({"recipe": name, "target": load_recipe(name).target, "steps": result["steps"],
                       "seconds": result["step_seconds"], "first_loss": result["first_loss"],
                       "last_loss": result["last_loss"]})
        say(f"{name}: {result['steps']} steps, {result['step_seconds']:.0f} s of steps, loss {result['first_loss']} "
            f"-> {result['last_loss']}")
        model = storage.join(output, MODEL_NAME)
    final = storage.join(out, "model")
    shutil.rmtree(final, ignore_errors=True)
    shutil.copytree(model, final)
    summary = {"model": final, "stages": stages, "step_seconds": round(sum(s["seconds"] for s in stages), 1),
               "dataset": DATASET, "workers": workers, "gpus_per_worker": gpus_per_worker, "steps_scale": steps_scale}
    storage.write_json_atomic(storage.join(out, "stack.json"), summary)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gen1_batch.toy.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="a local folder for the data, the runs and the model")
    parser.add_argument("--workers", type=int, default=1, help="Ray Train workers per stage")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0,
                        help="GPUs per Ray Train worker (0: train on the CPU cores)")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every recipe's steps (tests: 0.01)")
    a = parser.parse_args(argv)
    if a.gpus_per_worker < 0:  # Ray would refuse it later, in its own words
        parser.error(f"--gpus-per-worker must be 0 or more, got {a.gpus_per_worker}")
    summary = train_stack(a.out, a.workers, a.steps_scale, gpus_per_worker=a.gpus_per_worker)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
