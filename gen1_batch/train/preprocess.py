"""Training samples from manifest rows, on Ray Data, by the code the edit runs: the media reader
decodes and the recipe's target (targets.py) makes the sample; for the UNet that is the model's
depth estimator (Gen1Pipeline.estimate_depth, normalised as the edit does), CLIP image embeddings
(embed_frames) and the autoencoder's encoding (the mode of its latent distribution times the
scaling factor, as Gen1Pipeline.encode_structure encodes depth).

Each worker gets its own dataset of exactly the samples it trains on, in step order (a function of
seed, step and rank; see objective.py), from the step its run resumes at. A sample that cannot be
read becomes a row marked bad, which the trainer skips and counts: never a crash.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gen1_batch.train.data import TrainingRow
from gen1_batch.train.objective import IMAGE, VIDEO, draw, is_image_step
from gen1_batch.train.recipe import Recipe
from gen1_batch.train.samples import read_sample

SAMPLE_CACHE = 2048  # samples a preprocessing actor keeps (a toy UNet sample is about 0.2 MB)


@dataclass(frozen=True)
class SamplePlan:
    """What one worker's dataset holds: the recipe's sampling and the rows it samples from."""

    recipe: Recipe
    videos: tuple[TrainingRow, ...]
    images: tuple[TrainingRow, ...]  # when empty, image steps take one frame of a video
    world: int
    train_timesteps: int

    def draws(self, step: int, rank: int) -> list[Any]:
        r, d = self.recipe, self.recipe.data
        image = is_image_step(r.seed, step, d.image_probability)
        rows = len(self.images or self.videos) if image else len(self.videos)
        size = r.image_batch if image else r.batch_size
        return [draw(r.seed, step, rank, slot, kind=IMAGE if image else VIDEO, rows=rows, frames=d.frames,
                     flip=d.flip, structure=d.structure, content_dropout=d.content_dropout,
                     train_timesteps=self.train_timesteps, logit_normal=r.logit_normal) for slot in range(size)]

    def row_of(self, d: Any) -> TrainingRow:
        """The row a draw samples (an image draw takes a video's frame when there are no still rows)."""
        return (self.images if d.kind == IMAGE and self.images else self.videos)[d.row]

    def items(self, rank: int, start: int) -> list[dict[str, Any]]:
        return [{"step": step, "slot": slot, "draw": json.dumps(asdict(dr))}
                for step in range(start, self.recipe.steps) for slot, dr in enumerate(self.draws(step, rank))]


class Preprocess:
    """A Ray Data actor: loads the frozen models the recipe's target needs once (the base model's
    depth, CLIP and autoencoder for the UNet), then turns each draw into a sample."""

    def __init__(self, model: Any, plan: SamplePlan, device: str | None = None):
        import torch

        from gen1_batch.model.loading import device_and_dtype, load_components, pipeline_class
        from gen1_batch.stages.common import quiet_model_logs
        from gen1_batch.train.targets import target_of

        quiet_model_logs()
        torch.set_num_threads(1)
        self.plan = plan
        self.target = target_of(plan.recipe)
        self.cache: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
        names = list(self.target.sample_components)
        self.pipe = pipeline_class(model.pipeline)(**load_components(model, names), settings=model.settings)
        self.pipe.to(*device_and_dtype(device, "float32"))

    def sample(self, d: Any) -> dict[str, np.ndarray]:
        frames, truth, mask = read_sample(self.plan, d, truth=self.target.reads_depth_truth,
                                          mask=self.plan.recipe.data.weighs_masks)
        # A sample is a function of its pixels and of the target's choices: the same clip drawn again
        # (a small set is drawn many times) skips the models.
        key = (hash(frames.tobytes()), None if truth is None else hash(truth.tobytes()), *self.target.sample_choices(d))
        if key not in self.cache:
            if len(self.cache) >= SAMPLE_CACHE:
                self.cache.popitem(last=False)
            self.cache[key] = self.target.sample(self.pipe, frames, truth, d)
        self.cache.move_to_end(key)
        return self.cache[key] if mask is None else {**self.cache[key], "mask": mask.astype(np.float16)}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from gen1_batch.errors import describe
        from gen1_batch.stages.common import pack_arrays
        from gen1_batch.train.objective import Draw

        packed, errors = [], []
        for text in batch["draw"]:
            d = Draw(**json.loads(str(text)))
            try:
                packed.append(pack_arrays(self.sample(d)))
                errors.append("")
            except Exception as e:  # a bad sample is skipped and counted by the trainer, never a crash
                packed.append(np.zeros((0,), np.uint8))
                errors.append(f"row {self.plan.row_of(d).row}: {describe(e)}")
        out = np.empty(len(packed), dtype=object)
        for i, p in enumerate(packed):
            out[i] = p
        return {"step": batch["step"], "slot": batch["slot"], "draw": batch["draw"], "sample": out,
                "error": np.array(errors, dtype=object)}


def worker_dataset(plan: SamplePlan, model: Any, rank: int, start: int, num_cpus: float, num_gpus: float,
                   actors: int = 1) -> Any:
    """The samples worker `rank` trains on from step `start`, in order, preprocessed as they stream."""
    import ray
    from ray.data import ActorPoolStrategy

    items = plan.items(rank, start)
    # A finished run still gets a dataset (never read): Ray Data cannot build one from no rows.
    ds = ray.data.from_items(items or [{"step": -1, "slot": 0, "draw": ""}])
    return ds.map_batches(Preprocess, batch_size=1, fn_constructor_kwargs={"model": model, "plan": plan},
                          compute=ActorPoolStrategy(min_size=1, max_size=actors), num_cpus=num_cpus,
                          num_gpus=num_gpus)
