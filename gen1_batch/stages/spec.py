"""The dataflow's stages, stated once, in order: everything that lists stages takes it from here
(the Ray Data chain, the model stages and their resources, the seconds_* columns, the report's
timings, the live display).

Plain data, importable without torch, PyAV or Ray: each stage names its callable by import path,
and only the driver that builds the dataflow imports it (a decode or write worker never imports
torch).
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from typing import Any, Literal

# What a stage needs, which sets its default resources (config.default_resources):
#   io     a CPU task per shot (a function of a batch);
#   light  a model actor pool; on GPUs the light stages share one GPU, on CPU each takes one thread;
#   heavy  the model actor pool that gets the GPUs (one actor each), or on CPU every core.
Role = Literal["io", "light", "heavy"]


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:name" of a function of a batch (io) or of a callable class (model stages:
    #              __init__ loads the stage's part of the model once, __call__ edits a batch)
    role: Role

    @property
    def actors(self) -> bool:
        """Runs as an actor pool (holding a model), not as tasks."""
        return self.role != "io"

    def load(self) -> Any:
        return pkgutil.resolve_name(self.target)


DATAFLOW: tuple[Stage, ...] = (
    Stage("decode", "gen1_batch.stages.io:decode", "io"),
    Stage("depth", "gen1_batch.stages.models:DepthStage", "light"),
    Stage("content", "gen1_batch.stages.models:ContentStage", "light"),
    Stage("diffusion", "gen1_batch.stages.models:DiffusionStage", "heavy"),
    Stage("metrics", "gen1_batch.stages.models:MetricsStage", "light"),
    Stage("write", "gen1_batch.stages.io:write", "io"),
)
STAGES = tuple(stage.name for stage in DATAFLOW)
MODEL_STAGES = tuple(stage.name for stage in DATAFLOW if stage.actors)
