"""Job-wide settings shared by the driver and every stage (pickled to the Ray workers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gen1_batch.model.loading import ModelRef

MODEL_STAGES = ("depth", "content", "diffusion", "metrics")


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
    """GPUs when the cluster has them, CPU otherwise.

    On GPUs the depth, CLIP and metrics models share one GPU (half of it on a one-GPU machine),
    and every other GPU runs a diffusion actor. On CPU the model actors share the cores left after
    one decode and one write task, and the diffusion actor (the long one) lets torch use every core.

    Every stage's minimum (one task, or its minimum actors) fits in the cluster at once: Ray Data
    reserves each stage's minimum from upstream to downstream, and a stage whose minimum no longer
    fits gets no CPU until the stages before it finish. When decode and the actors took every core,
    write started only after decode had read the whole manifest: nothing was committed for minutes.
    """
    if gpus >= 1:
        shared = 0.5 if gpus < 2 else 0.75  # of one GPU, for the three light model stages together
        light = StageResources(actors=1, num_cpus=1, num_gpus=shared / 3)
        resources = {
            "decode": StageResources(num_cpus=1),
            "depth": light,
            "content": light,
            "metrics": light,
            "diffusion": StageResources(actors=max(1, int(gpus - shared)), min_actors=1, num_cpus=1,
                                        num_gpus=1.0 if gpus >= 2 else 1 - shared),
            "write": StageResources(num_cpus=1),
        }
        return fit_cpus(resources, cpus)
    io = min(1.0, cpus / 8)  # decode and write tasks
    share = min(1.0, (cpus - 2 * io) / len(MODEL_STAGES))
    return {
        "decode": StageResources(num_cpus=io),
        "depth": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "content": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "diffusion": StageResources(actors=1, num_cpus=share, torch_threads=max(1, int(cpus))),
        "metrics": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "write": StageResources(num_cpus=io),
    }


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
    ocio: str | None = None  # the OCIO config (media.colour.config_source resolves it on the driver)
