"""Job-wide settings shared by the driver and every stage (pickled to the Ray workers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gen1_batch.model.loading import ModelRef
from gen1_batch.stages.spec import DATAFLOW, MODEL_STAGES, Role


@dataclass(frozen=True)
class StageResources:
    """Resources of one stage. Model stages run `min_actors`..`actors` actors, each holding its model;
    decode and write run as tasks."""

    actors: int = 1
    min_actors: int | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    torch_threads: int | None = None  # CPU threads for torch in each actor (None: Ray's default)

    @property
    def pool(self) -> tuple[int, int]:
        return (self.min_actors or self.actors, self.actors)


def default_resources(cpus: float, gpus: float) -> dict[str, StageResources]:
    """GPUs when the cluster has them, CPU otherwise, by each stage's role (stages/spec.py).

    On GPUs the light model stages (depth, CLIP, metrics) share one GPU (half of it on a one-GPU
    machine), and every other GPU runs an actor of the heavy one (diffusion). On CPU the model
    actors share the cores left after one task of each io stage (decode, write), and the heavy
    actor (the long one) lets torch use every core.

    Every stage's minimum (one task, or its minimum actors) fits in the cluster at once: Ray Data
    reserves each stage's minimum from upstream to downstream, and a stage whose minimum no longer
    fits gets no CPU until the stages before it finish. When decode and the actors took every core,
    write started only after decode had read the whole manifest: nothing was committed for minutes.
    """
    count = {role: sum(stage.role == role for stage in DATAFLOW) for role in ("io", "light")}
    if gpus >= 1:
        shared = 0.5 if gpus < 2 else 0.75  # of one GPU, for the light model stages together
        by_role: dict[Role, StageResources] = {
            "io": StageResources(num_cpus=1),
            "light": StageResources(actors=1, num_cpus=1, num_gpus=shared / count["light"]),
            "heavy": StageResources(actors=max(1, int(gpus - shared)), min_actors=1, num_cpus=1,
                                    num_gpus=1.0 if gpus >= 2 else 1 - shared),
        }
        return fit_cpus({stage.name: by_role[stage.role] for stage in DATAFLOW}, cpus)
    io = min(1.0, cpus / 8)  # decode and write tasks
    share = min(1.0, (cpus - count["io"] * io) / len(MODEL_STAGES))
    by_role = {
        "io": StageResources(num_cpus=io),
        "light": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "heavy": StageResources(actors=1, num_cpus=share, torch_threads=max(1, int(cpus))),
    }
    return {stage.name: by_role[stage.role] for stage in DATAFLOW}


def minimum_cpus(resources: dict[str, StageResources]) -> float:
    """CPUs for every stage's minimum at once: its minimum actors, or one task."""
    return sum(r.num_cpus * (r.pool[0] if stage in MODEL_STAGES else 1) for stage, r in resources.items())


def fit_cpus(resources: dict[str, StageResources], cpus: float) -> dict[str, StageResources]:
    """Scale the stages' CPU requests down (rounded down to 1/1000) until all their minimums fit in `cpus`."""
    need = minimum_cpus(resources)
    if need <= cpus:
        return resources
    scale = cpus / need
    return {stage: replace(r, num_cpus=math.floor(r.num_cpus * scale * 1000) / 1000) for stage, r in resources.items()}


@dataclass(frozen=True)
class JobConfig:
    manifest: str
    output: str
    model: ModelRef
    resources: dict[str, StageResources] = field(default_factory=dict)
    retries: int = 2  # restarts of a crashed worker, and retries of the shot it held
    device: str | None = None  # force "cpu" or "cuda"; default: CUDA where the actor has a GPU
    dtype: str = "auto"  # bfloat16 on a GPU with it (else float16), float32 on CPU; or "float32", ...
    max_batch: int | None = None  # clips per UNet call in the diffusion stage (default: the model's)
    compile: bool = False  # torch.compile the UNet in the diffusion actors (see loading.compile_denoiser)
    ocio: str | None = None  # the OCIO config (media.colour.config_source resolves it on the driver)

    @property
    def clips_per_call(self) -> int:
        """The UNet batch the edit runs with. Outputs depend on it in the last bits (a batched matmul
        rounds differently from a single one, by up to 1/255 after decoding), so resume compares it."""
        return self.max_batch or self.model.settings["max_batch"]

    @property
    def colour_config_id(self) -> str:
        """The OCIO config's identity (media.colour.config_id): frames reach the models through it,
        so resume compares it."""
        from gen1_batch.media.colour import config_id, config_source

        return config_id(config_source(self.ocio))
