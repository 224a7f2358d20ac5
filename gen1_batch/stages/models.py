"""The model stages, one callable class each (Ray Data actors): __init__ loads the stage's part of
the model once, __call__ edits a batch of shots. Their order, roles and default resources are in
stages/spec.py."""

from __future__ import annotations

from dataclasses import replace

from gen1_batch.config import JobConfig
from gen1_batch.media.canvas import crop
from gen1_batch.model import metrics
from gen1_batch.model.windows import WindowSpec, describe_plan
from gen1_batch.shot import Shot
from gen1_batch.stages.common import quiet_model_logs, set_torch_threads
from gen1_batch.stages.row import Batch, ShotRow, run_stage


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
        self.max_batch = job.clips_per_call
        self.pipe.to(*device_and_dtype(job.device, job.dtype))

    def process(self, row: ShotRow) -> ShotRow:
        raise NotImplementedError

    def __call__(self, batch: Batch) -> Batch:
        def process(row: ShotRow) -> ShotRow:
            done = self.process(row)
            return replace(done, fingerprints=dict(sorted({**done.fingerprints, **self.fingerprints}.items())))

        return run_stage(self.name, batch, process)


class DepthStage(ModelStage):
    """MiDaS/DPT depth of every frame, normalised over the shot."""

    name = "depth"

    def process(self, row: ShotRow) -> ShotRow:
        return replace(row, depth=self.pipe.estimate_depth(row.frames))


class ContentStage(ModelStage):
    """CLIP image embedding of the reference image, or of the prompt through the prior."""

    name = "content"

    def process(self, row: ShotRow) -> ShotRow:
        shot = row.shot
        reference = row.reference if row.reference.size else None
        conditioning = self.pipe.encode_content(shot.prompt, reference, shot.negative_prompt, seed=shot.seed)
        return replace(row, conditioning=conditioning)


class DiffusionStage(ModelStage):
    """Latent video diffusion over overlapping windows, guided by structure and content."""

    name = "diffusion"

    def __init__(self, job: JobConfig):
        super().__init__(job)
        if job.compile:
            from gen1_batch.model.loading import compile_denoiser

            compile_denoiser(self.pipe)

    def process(self, row: ShotRow) -> ShotRow:
        shot, window = row.shot, shot_window(row.shot)
        edited, stats = self.pipe.generate(
            row.depth, row.conditioning, structure=shot.structure, content_scale=shot.content_scale,
            temporal_scale=shot.temporal_scale, steps=shot.steps, seed=shot.seed, window=window,
            max_batch=self.max_batch,
        )
        sampling = {"windows": describe_plan(len(edited), window, shot.steps), "unet_forwards": stats.forwards,
                    "clip_passes": stats.clip_passes, "image_frames": stats.image_frames,
                    "max_batch": self.max_batch}
        return replace(row, edited=edited, sampling=sampling)


class MetricsStage(ModelStage):
    """Frame consistency, prompt consistency and structure error of the edit (report.metrics)."""

    name = "metrics"

    def process(self, row: ShotRow) -> ShotRow:
        return replace(row, metrics=self.edit_metrics(row))

    def edit_metrics(self, row: ShotRow) -> dict[str, float | None]:
        assert row.video_info is not None  # decoded
        layout, shot = row.video_info.layout, row.shot
        edited, source = crop(row.edited, layout), crop(row.frames, layout)
        embeddings = self.pipe.embed_frames(edited)
        found: dict[str, float | None] = {
            "frame_consistency": metrics.frame_consistency(embeddings),
            "source_frame_consistency": metrics.frame_consistency(self.pipe.embed_frames(source)),
            "structure_error": metrics.structure_error(crop(row.depth, layout),
                                                       crop(self.pipe.estimate_depth(row.edited), layout)),
        }
        text = self.pipe.embed_text(shot.prompt) if shot.prompt else None
        if text is not None:  # a model whose CLIP has no text tower in the image space has no prompt score
            found["prompt_consistency"] = metrics.prompt_consistency(embeddings, text)
        if row.reference.size:
            reference = self.pipe.embed_frames(row.reference[None])[0]
            found["reference_consistency"] = metrics.prompt_consistency(embeddings, reference)
        return {k: None if v is None else round(v, 6) for k, v in found.items()}

