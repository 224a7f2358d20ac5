"""Pipeline stages: decode and write run as Ray tasks, the model stages as actor pools."""

from gen1_batch.stages.io import decode, write
from gen1_batch.stages.models import ContentStage, DepthStage, DiffusionStage

__all__ = ["ContentStage", "DepthStage", "DiffusionStage", "decode", "write"]
