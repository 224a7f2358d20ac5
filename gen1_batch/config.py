"""Job-wide settings shared by the driver and every stage (pickled to the Ray workers)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    and every other GPU runs a diffusion actor. On CPU the model actors each take a share of the
    cores, leaving room for decode and write tasks so that every stage fits on one machine, and
    the diffusion actor (the long one) lets torch use every core.
    """
    if gpus >= 1:
        shared = 0.5 if gpus < 2 else 0.75  # of one GPU, for the three light model stages together
        light = StageResources(actors=1, num_cpus=1, num_gpus=shared / 3)
        return {
            "decode": StageResources(num_cpus=1),
            "depth": light,
            "content": light,
            "metrics": light,
            "diffusion": StageResources(actors=max(1, int(gpus - shared)), min_actors=1, num_cpus=1,
                                        num_gpus=1.0 if gpus >= 2 else 1 - shared),
            "write": StageResources(num_cpus=1),
        }
    share = min(1.0, cpus / (len(MODEL_STAGES) + 1))
    return {
        "decode": StageResources(num_cpus=min(1.0, cpus / 8)),
        "depth": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "content": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "diffusion": StageResources(actors=1, num_cpus=share, torch_threads=max(1, int(cpus))),
        "metrics": StageResources(actors=1, num_cpus=share, torch_threads=1),
        "write": StageResources(num_cpus=min(1.0, cpus / 8)),
    }


@dataclass(frozen=True)
class JobConfig:
    manifest: str
    output: str
    model: ModelRef
    resources: dict[str, StageResources] = field(default_factory=dict)
    retries: int = 2  # restarts of a crashed worker, and retries of the shot it held
    device: str | None = None  # force "cpu" or "cuda"; default: CUDA where the actor has a GPU
    dtype: str = "auto"  # float16 on CUDA, float32 on CPU; or "float32", "bfloat16", ...
    max_batch: int | None = None  # clips per UNet call in the diffusion stage (default: the model's)
