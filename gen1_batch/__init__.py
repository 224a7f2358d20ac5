"""gen1-batch: structure- and content-guided video editing (Esser et al. 2023) at studio scale."""

from __future__ import annotations

__version__ = "0.1.0"

# Heavy imports (torch, diffusers) load on first use, so the CLI starts fast.
_LAZY = {
    "Gen1UNet": "gen1_batch.model.unet",
    "Gen1Pipeline": "gen1_batch.model.pipeline_gen1",
    "edit": "gen1_batch.api",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gen1_batch' has no attribute {name!r}")


__all__ = ["Gen1Pipeline", "Gen1UNet", "__version__", "edit"]
