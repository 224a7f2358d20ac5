"""The model stages, one callable class each (Ray Data actors): __init__ loads the stage's part of
the model once, __call__ edits a batch of shots."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from gen1_batch.config import JobConfig
from gen1_batch.manifest import Shot
from gen1_batch.model.windows import WindowSpec, describe_plan
from gen1_batch.stages.common import add_fingerprints, quiet_model_logs, run_stage, set_torch_threads


def shot_window(shot: Shot) -> WindowSpec:
    return WindowSpec(length=shot.window, stride=shot.window_stride, blend=shot.window_blend, shift=shot.window_shift,
                      free_noise=shot.free_noise)


class ModelStage:
    name: str

    def __init__(self, job: JobConfig):
        from gen1_batch.model.loading import device_and_dtype, fingerprint, load_components
        from gen1_batch.model.pipeline_gen1 import Gen1Pipeline
        from gen1_batch.model.settings import STAGE_COMPONENTS

        quiet_model_logs()
        set_torch_threads(job.resources[self.name].torch_threads if self.name in job.resources else None)
        components = load_components(job.model, STAGE_COMPONENTS[self.name])
        self.fingerprints = fingerprint(components)  # before moving: hashing reads CPU memory
        self.pipe = Gen1Pipeline(**components, settings=job.model.settings)
        self.pipe.to(*device_and_dtype(job.device, job.dtype))

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        def process(row: dict[str, Any]) -> dict[str, Any]:
            updates = self.process(row, Shot.from_json(row["shot"]))
            updates["fingerprints"] = add_fingerprints(row, self.fingerprints)
            return updates

        return run_stage(self.name, batch, process)


class DepthStage(ModelStage):
    """MiDaS/DPT depth of every frame, normalised over the shot."""

    name = "depth"

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        return {"depth": self.pipe.estimate_depth(row["frames"])}


class ContentStage(ModelStage):
    """CLIP image embedding of the reference image, or of the prompt through the prior."""

    name = "content"

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        reference = row["reference"] if row["reference"].size else None
        content, null = self.pipe.encode_content(shot.prompt, reference, shot.negative_prompt, seed=shot.seed)
        return {"content": content, "null_content": null}


class DiffusionStage(ModelStage):
    """Latent video diffusion over overlapping windows, guided by structure and content."""

    name = "diffusion"

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        window = shot_window(shot)
        steps = shot.steps
        edited, stats = self.pipe.generate(
            row["depth"], row["content"], row["null_content"], structure=shot.structure,
            content_scale=shot.content_scale, temporal_scale=shot.temporal_scale, steps=steps, seed=shot.seed,
            window=window,
        )
        sampling = {"windows": describe_plan(len(edited), window, steps), "unet_forwards": stats.forwards,
                    "clip_passes": stats.clip_passes}
        return {"edited": edited, "sampling": json.dumps(sampling)}
