"""The trained model as a model folder (save_pretrained layout) that `gen1 run --model` loads: the
base model's components with the trained ones (EMA weights when the recipe keeps them, LoRA merged),
and `random_weights` saying exactly which parts are still untrained."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Any

import torch

from gen1_batch import storage
from gen1_batch.train.loop import STATE_FILE, WorkerConfig, base_components, build_trainable, load_trainable
from gen1_batch.train.params import still_random
from gen1_batch.train.targets import target_of

TRAINING_NAME = "training.json"


def trained_module(config: WorkerConfig, checkpoint_dir: str) -> torch.nn.Module:
    """The recipe target's module with the checkpoint's weights."""
    recipe = config.plan.recipe
    trained = build_trainable(config)
    state = torch.load(os.path.join(checkpoint_dir, STATE_FILE), map_location="cpu", weights_only=True)
    load_trainable(trained, state["trainable"])
    if recipe.ema_decay and state["ema"]:
        with torch.no_grad():
            for p, e in zip([p for p in trained.parameters() if p.requires_grad], state["ema"], strict=True):
                p.copy_(e)
    if recipe.lora_rank:
        from peft.tuners.lora import LoraLayer

        for name, module in list(trained.named_modules()):
            if isinstance(module, LoraLayer):
                module.merge()
                parent, _, child = name.rpartition(".")
                setattr(trained.get_submodule(parent) if parent else trained, child, module.get_base_layer())
    for p in trained.parameters():
        p.requires_grad_(False)
    return trained.eval()


def export_model(config: WorkerConfig, checkpoint_dir: str, target: str, provenance: dict[str, Any]) -> str:
    """Write the model folder at `target` (a local folder or a URL); model_index.json, which makes a
    folder a model, is written last. Returns `target`."""
    from gen1_batch.model.loading import MODEL_INDEX, pipeline_class
    from gen1_batch.stages.common import quiet_model_logs

    quiet_model_logs()
    recipe, ref = config.plan.recipe, config.model
    trained_target = target_of(recipe)
    parts = trained_target.parts(trained_module(config, checkpoint_dir))
    trained_target.finish(parts, config.plan)
    components = {**base_components(config, [n for n in ref.components() if n not in parts]), **parts}
    if trained_target.name == "unet":
        trained = ("lora:" + "+".join(recipe.trains),) if recipe.lora_rank else recipe.trains
        random = still_random(ref.random_weights, ref.components(), recipe.trains)
    elif "all" in recipe.trains:
        trained = tuple(parts)
        random = still_random(ref.random_weights, ref.components(), (), trained_components=trained)
    else:  # some groups of a component (the autoencoder's decoder): the rest of it is as it was
        trained = tuple(f"{part}.{group}" for part in parts for group in recipe.trains)
        random = list(ref.random_weights)
    pipe = pipeline_class(ref.pipeline)(**components, settings={**ref.settings, "random_weights": random})
    with tempfile.TemporaryDirectory(prefix="gen1-model-") as tmp:
        folder = os.path.join(tmp, "model")
        pipe.save_pretrained(folder)
        with open(os.path.join(folder, TRAINING_NAME), "w") as f:
            json.dump({**provenance, "trained": list(trained)}, f, indent=2, default=str)
        index = os.path.join(tmp, MODEL_INDEX)
        os.replace(os.path.join(folder, MODEL_INDEX), index)
        remote = storage.is_url(target) and not target.startswith("file://")
        if remote:
            fs, path = storage.filesystem(target)
            with storage.explained(target):
                fs.put(folder + "/", path, recursive=True)
            storage.put_file_atomic(index, storage.join(target, MODEL_INDEX))
        else:
            local = os.path.abspath(target.removeprefix("file://"))
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(local, MODEL_INDEX))  # not a model while it is replaced
            os.makedirs(local, exist_ok=True)
            for name in os.listdir(folder):  # only what the export writes: the folder may hold other things
                shutil.rmtree(os.path.join(local, name), ignore_errors=True)
                (shutil.copytree if os.path.isdir(os.path.join(folder, name)) else shutil.copy)(
                    os.path.join(folder, name), os.path.join(local, name))
            shutil.copy(index, os.path.join(local, MODEL_INDEX))
    return target
