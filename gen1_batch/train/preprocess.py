"""Training samples from manifest rows, on Ray Data, by the code the edit runs: the media reader
decodes, the model's depth estimator (Gen1Pipeline.estimate_depth, normalised as the edit does),
CLIP image embeddings (embed_frames) and the autoencoder's encoding (the mode of its latent
distribution times the scaling factor, as Gen1Pipeline.encode_structure encodes depth).

Each worker gets its own dataset of exactly the samples it trains on, in step order (a function of
seed, step and rank; see objective.py), from the step its run resumes at. A sample that cannot be
read becomes a row marked bad, which the trainer skips and counts: never a crash.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gen1_batch.train.data import TrainingRow
from gen1_batch.train.objective import IMAGE, VIDEO, clip_frames, cover_size, crop_and_flip, draw, is_image_step
from gen1_batch.train.recipe import Recipe


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
        return [draw(r.seed, step, rank, slot, kind=IMAGE if image else VIDEO, rows=rows, frames=d.frames,
                     flip=d.flip, structure=d.structure, content_dropout=d.content_dropout,
                     train_timesteps=self.train_timesteps) for slot in range(r.batch_size)]

    def items(self, rank: int, start: int) -> list[dict[str, Any]]:
        return [{"step": step, "slot": slot, "draw": json.dumps(asdict(dr))}
                for step in range(start, self.recipe.steps) for slot, dr in enumerate(self.draws(step, rank))]


def resize_to_cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """An h×w×3 still scaled (aspect kept) to cover width × height."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    size = (max(width, math.ceil(w * scale)), max(height, math.ceil(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def read_sample_frames(plan: SamplePlan, d: Any) -> np.ndarray:
    """The uint8 f×h×w×3 frames of one draw, cropped and flipped (f = 1 for images)."""
    from gen1_batch.media import probe, read_image, read_video
    from gen1_batch.media.sequence import is_sequence

    spec = plan.recipe.data
    if d.kind == IMAGE and plan.images:
        still = resize_to_cover(read_image(plan.images[d.row].url), spec.width, spec.height)
        return crop_and_flip(still[None], spec.width, spec.height, d.crop_x, d.crop_y, d.flip)
    url = plan.videos[d.row].url
    info = probe(url)
    length = info["header_frames"]
    size = cover_size(info["width"], info["height"], spec.width, spec.height)
    if length is None and not is_sequence(url):  # the header does not say: read it all once
        frames, _ = read_video(url, size=size)
        length, first = len(frames), None
    else:
        frames, first = None, info["first_frame"]
    if d.kind == IMAGE:
        picks: list[int] | None = [min(int(d.clip_start * length), length - 1)]
    else:
        picks = clip_frames(length, spec.frames, spec.frame_stride, d.clip_start)
        if picks is None:
            raise ValueError(f"{url}: {length} frames; the recipe's clips need at least {spec.frames}")
    if frames is None:
        frames, _ = read_video(url, frame_start=first + picks[0], frame_end=first + picks[-1], size=size)
        picks = [p - picks[0] for p in picks]
    if picks[-1] >= len(frames):
        raise ValueError(f"{url}: only {len(frames)} frames could be read of the {picks[-1] + 1} its header states")
    return crop_and_flip(frames[picks], spec.width, spec.height, d.crop_x, d.crop_y, d.flip)


class Preprocess:
    """A Ray Data actor: loads the frozen depth, CLIP and autoencoder of the base model once, then
    turns each draw into a sample (latents, depth, per-frame CLIP embeddings)."""

    def __init__(self, model: Any, plan: SamplePlan, device: str | None = None):
        import torch

        from gen1_batch.model.loading import device_and_dtype, load_components, pipeline_class
        from gen1_batch.stages.common import quiet_model_logs

        quiet_model_logs()
        torch.set_num_threads(1)
        self.plan = plan
        names = ["vae", "image_encoder"] + ([] if plan.recipe.data.structure == "none" else ["depth_estimator"])
        self.pipe = pipeline_class(model.pipeline)(**load_components(model, names), settings=model.settings)
        self.pipe.to(*device_and_dtype(device, "float32"))

    def sample(self, d: Any) -> dict[str, np.ndarray]:
        import torch

        from gen1_batch.model.base import as_tensor

        frames = read_sample_frames(self.plan, d)
        pipe = self.pipe
        with torch.no_grad():
            x = as_tensor(frames).to(pipe.vae.device).permute(0, 3, 1, 2).float() / 127.5 - 1
            latents = torch.cat([pipe.vae.encode(x[i: i + pipe.settings["vae_batch"]]).latent_dist.mode()
                                 for i in range(0, len(x), pipe.settings["vae_batch"])])
            latents = (latents * pipe.vae.config.scaling_factor).transpose(0, 1).float().cpu().numpy()  # c×f×h×w
        depth = (np.zeros((0, 0, 0), np.float32) if d.structure_level is None
                 else pipe.estimate_depth(frames).astype(np.float32))
        return {"latents": latents, "depth": depth, "embeddings": pipe.embed_frames(frames).astype(np.float32)}

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
                rows = self.plan.images if d.kind == IMAGE and self.plan.images else self.plan.videos
                packed.append(np.zeros((0,), np.uint8))
                errors.append(f"row {rows[d.row].row}: {describe(e)}")
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
