"""Reading a local model folder (diffusers' save_pretrained layout): model_index.json names each
component's library and class; each loads from its own subfolder."""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from gen1_batch.model.settings import MODEL_INDEX


class ModelNotFound(ValueError):
    pass


def load_folder_components(root: str, names: list[str], spec: str | None = None) -> dict[str, Any]:
    """The named components of the model folder at `root` (`spec`: how the user named it, for errors)."""
    import torch

    from gen1_batch.model.base import own_aligned_memory

    with open(os.path.join(root, MODEL_INDEX)) as f:
        index = json.load(f)
    components = {}
    for name in names:
        entry = index.get(name)
        if not entry or entry[0] is None:
            raise ModelNotFound(f"{spec or root}: {MODEL_INDEX} names no {name}")
        library, class_name = entry
        cls = getattr(importlib.import_module(library), class_name)
        component = cls.from_pretrained(root, subfolder=name)
        if isinstance(component, torch.nn.Module):
            own_aligned_memory(component)
            component.eval()
        components[name] = component
    return components
