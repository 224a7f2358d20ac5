"""The model stages, one callable class each (Ray Data actors): __init__ loads the stage's part of
the model once, __call__ edits a batch of shots."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from gen1_batch.config import JobConfig
from gen1_batch.manifest import Shot
from gen1_batch.media.canvas import crop
from gen1_batch.media.reader import VideoInfo
from gen1_batch.model.windows import WindowSpec, describe_plan
from gen1_batch.report import metrics
from gen1_batch.stages.common import (
    add_fingerprints,
    pack_arrays,
    quiet_model_logs,
    run_stage,
    set_torch_threads,
    unpack_arrays,
)


def shot_window(shot: Shot) -> WindowSpec:
    return WindowSpec(length=shot.window, stride=shot.window_stride, blend=shot.window_blend, shift=shot.window_shift,
                      free_noise=shot.free_noise)


class ModelStage:
    name: str  # the stage's name in spec.DATAFLOW

    def __init__(self, job: JobConfig):
        from gen1_batch.model.loading import device_and_dtype, fingerprint, load_components, pipeline_class

        quiet_model_logs()
        set_torch_threads(job.resources[self.name].torch_threads if self.name in job.resources else None)
        components = load_components(job.model, job.model.components(self.name))
        self.fingerprints = fingerprint(components)  # before moving: hashing reads CPU memory
        self.pipe = pipeline_class(job.model.pipeline)(**components, settings=job.model.settings)
        self.max_batch = job.max_batch
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
        conditioning = self.pipe.encode_content(shot.prompt, reference, shot.negative_prompt, seed=shot.seed)
        return {"conditioning": pack_arrays(conditioning)}


class MetricsStage(ModelStage):
    """Frame consistency, prompt consistency and structure error of the edit (report.metrics)."""

    name = "metrics"

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        layout = VideoInfo.from_dict(json.loads(row["video_info"])).layout
        edited, source = crop(row["edited"], layout), crop(row["frames"], layout)
        embeddings = self.pipe.embed_frames(edited)
        found: dict[str, float | None] = {
            "frame_consistency": metrics.frame_consistency(embeddings),
            "source_frame_consistency": metrics.frame_consistency(self.pipe.embed_frames(source)),
            "structure_error": metrics.structure_error(crop(row["depth"], layout),
                                                       crop(self.pipe.estimate_depth(row["edited"]), layout)),
        }
        text = self.pipe.embed_text(shot.prompt) if shot.prompt else None
        if text is not None:  # a model whose CLIP has no text tower in the image space has no prompt score
            found["prompt_consistency"] = metrics.prompt_consistency(embeddings, text)
        if row["reference"].size:
            reference = self.pipe.embed_frames(row["reference"][None])[0]
            found["reference_consistency"] = metrics.prompt_consistency(embeddings, reference)
        return {"metrics": json.dumps({k: None if v is None else round(v, 6) for k, v in found.items()})}


class DiffusionStage(ModelStage):
    """Latent video diffusion over overlapping windows, guided by structure and content."""

    name = "diffusion"

    def process(self, row: dict[str, Any], shot: Shot) -> dict[str, Any]:
        window = shot_window(shot)
        steps = shot.steps
        edited, stats = self.pipe.generate(
            row["depth"], unpack_arrays(row["conditioning"]), structure=shot.structure,
            content_scale=shot.content_scale, temporal_scale=shot.temporal_scale, steps=steps, seed=shot.seed,
            window=window, max_batch=self.max_batch,
        )
        sampling = {"windows": describe_plan(len(edited), window, steps), "unet_forwards": stats.forwards,
                    "clip_passes": stats.clip_passes}
        return {"edited": edited, "sampling": json.dumps(sampling)}
