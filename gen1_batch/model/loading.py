"""One loader for every stage: a preset name, a local directory, an fsspec URL or a hub id.

`describe_model` is cheap (no weights are read) and runs on the driver: it gives the model's
settings and a key that changes when the weights change, which resume compares. `load_pipeline`
runs in the stage actors and loads only the components a stage needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from gen1_batch import storage
from gen1_batch.errors import describe, network_cause
from gen1_batch.model.folder import ModelNotFound
from gen1_batch.model.presets import PRESETS
from gen1_batch.model.settings import DEFAULT_SETTINGS, MODEL_INDEX, PIPELINES, pipeline_class

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?", re.ASCII)  # matched whole (fullmatch)
CACHE_DIR = os.environ.get("GEN1_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "gen1-batch"))



@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from and what it is, known without loading any weights."""

    spec: str  # as the user gave it
    kind: str  # preset | dir | url | hub
    location: str
    key: str  # changes whenever the weights change
    settings: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "Gen1Pipeline"  # the pipeline class (settings.PIPELINES)

    def components(self, stage: str | None = None) -> tuple[str, ...]:
        """The components of the model, or of one batch stage."""
        spec = PIPELINES[self.pipeline]
        return spec["components"] if stage is None else spec["stages"][stage]

    @property
    def random_weights(self) -> list[str]:
        return list(self.settings.get("random_weights", []))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.spec, "kind": self.kind, "location": self.location, "key": self.key,
                "pipeline": self.pipeline, "random_weights": self.random_weights}


def _listing_key(entries: list[tuple[str, Any, Any]]) -> str:
    blob = json.dumps(sorted(entries), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _settings_from_index(index: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULT_SETTINGS, **index.get("settings", {})}


def _pipeline_of(spec: str, index: dict[str, Any]) -> str:
    name = index.get("_class_name", "Gen1Pipeline")
    if name not in PIPELINES:
        raise ModelNotFound(f"{spec}: {MODEL_INDEX} names pipeline {name}; gen1-batch runs {', '.join(PIPELINES)}")
    return name


def _check_components(spec: str, index: dict[str, Any], folders: set[str]) -> None:
    """A model folder must hold a subfolder for every component its index names."""
    missing = [name for name, entry in index.items()
               if isinstance(entry, list) and entry and entry[0] is not None and name not in folders]
    if missing:
        raise ModelNotFound(f"{spec}: {MODEL_INDEX} names {', '.join(missing)}, but the folder has no "
                            f"{'/, '.join(missing)}/")


def describe_model(spec: str) -> ModelRef:
    """Resolve a model spec without loading weights. Raises ModelNotFound with what was tried."""
    if spec in PRESETS and PRESETS[spec].folder:  # shipped trained: a model folder under its name
        if not os.path.exists(os.path.join(PRESETS[spec].folder, MODEL_INDEX)):
            raise ModelNotFound(f"{spec}: its weights are not shipped in this installation ({PRESETS[spec].folder}); "
                                "train them with `python -m gen1_batch.toy.stack DIR`, then use --model DIR/model")
        return dataclasses.replace(describe_model(PRESETS[spec].folder), spec=spec)
    if spec in PRESETS:
        preset = PRESETS[spec]
        return ModelRef(spec, "preset", spec, preset.key(), {**DEFAULT_SETTINGS, **preset.settings},
                        preset.pipeline)
    if os.path.isdir(spec) or spec.startswith("file://"):
        root = os.path.abspath(spec.removeprefix("file://"))
        index_path = os.path.join(root, MODEL_INDEX)
        if not os.path.exists(index_path):
            raise ModelNotFound(f"{spec}: a model folder needs a {MODEL_INDEX} (write one with `gen1 models download`)")
        entries = []
        for folder, _, files in os.walk(root):
            for name in files:
                st = os.stat(os.path.join(folder, name))
                entries.append((os.path.relpath(os.path.join(folder, name), root), st.st_size, st.st_mtime_ns))
        with open(index_path) as f:
            index = json.load(f)
        _check_components(spec, index, {n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))})
        return ModelRef(spec, "dir", root, _listing_key(entries), _settings_from_index(index),
                        _pipeline_of(spec, index))
    if storage.is_url(spec):
        try:
            fs, path = storage.filesystem(spec)
            with storage.explained(spec):
                found = fs.find(path, detail=True)
        except FileNotFoundError:
            found = {}
        except storage.StorageError as e:
            raise ModelNotFound(str(e)) from None
        index_path = next((p for p in found if p.rstrip("/").endswith("/" + MODEL_INDEX)
                           and os.path.dirname(p.rstrip("/")) == path.rstrip("/")), None)
        if index_path is None:
            raise ModelNotFound(f"{spec}: no {MODEL_INDEX} there")
        entries = [(p, info.get("size"), info.get("ETag") or info.get("mtime") or info.get("LastModified"))
                   for p, info in found.items()]
        index = json.loads(fs.cat_file(index_path))
        prefix = path.rstrip("/") + "/"
        _check_components(spec, index, {p[len(prefix):].split("/")[0] for p in found if p.startswith(prefix)})
        return ModelRef(spec, "url", spec, _listing_key(entries), _settings_from_index(index),
                        _pipeline_of(spec, index))
    if HUB_ID.fullmatch(spec):
        from huggingface_hub import hf_hub_download

        repo, _, revision = spec.partition("@")
        try:
            index_path = hf_hub_download(repo, MODEL_INDEX, revision=revision or None)
        except Exception as e:
            if network_cause(e) is not None:
                raise ModelNotFound(f"{spec}: the hub cannot be reached ({describe(e)})") from None
            raise ModelNotFound(f"{spec}: not found on the hub or in its cache ({describe(e)})") from None
        commit = os.path.basename(os.path.dirname(index_path))  # .../snapshots/<commit>/model_index.json
        with open(index_path) as f:
            index = json.load(f)
        return ModelRef(spec, "hub", repo, f"{repo}@{commit}", _settings_from_index(index), _pipeline_of(spec, index))
    raise ModelNotFound(f"{spec!r} is not a preset ({', '.join(PRESETS)}), a model folder, a URL or a hub id")


def _local_root(ref: ModelRef, names: list[str]) -> str:
    """A local folder holding model_index.json and the named components."""
    if ref.kind == "dir":
        return ref.location
    if ref.kind == "hub":
        from huggingface_hub import snapshot_download

        repo, _, revision = ref.spec.partition("@")
        return snapshot_download(repo, revision=revision or None,
                                 allow_patterns=[MODEL_INDEX, *[f"{n}/*" for n in names]])
    # A URL: copy once into a cache folder named by the URL and its key (new weights, new folder).
    local = os.path.join(CACHE_DIR, "models", hashlib.sha256(f"{ref.spec}|{ref.key}".encode()).hexdigest()[:24])
    fs, path = storage.filesystem(ref.spec)
    for name in [MODEL_INDEX, *names]:
        target = os.path.join(local, name)
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = f"{path.rstrip('/')}/{name}"
            partial = target + ".partial"
            fs.get(source, partial, recursive=fs.isdir(source))
            os.replace(partial, target)
    return local


def load_components(spec: str | ModelRef, names: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Load the named components (all when None) of a model, each from its own subfolder."""
    from gen1_batch.model.folder import load_folder_components

    ref = spec if isinstance(spec, ModelRef) else describe_model(spec)
    names = list(names or ref.components())
    if ref.kind == "preset":
        return PRESETS[ref.location].build(names, False)
    return load_folder_components(_local_root(ref, names), names, ref.spec)


def device_and_dtype(device: str | None = None, dtype: str | None = None):
    """The device (CUDA when present) and dtype unless given: bfloat16 on a GPU that has it (the
    range of float32: no overflow in attention), float16 on older GPUs, float32 on the CPU."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype in (None, "auto"):
        if not device.startswith("cuda"):
            return device, torch.float32
        return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return device, getattr(torch, dtype)


def compile_denoiser(pipe: Any) -> None:
    """torch.compile the pipeline's UNet in place (channels-last on a GPU first: convolutions' fast
    layout). The first call of each new shape pays the compile time; outputs match eager to
    floating-point tolerance, not bit for bit. For the Gen-1 UNet only its image UNet (the temporal
    layers inside) is compiled: the per-clip video flags are read in eager code around it, which
    would otherwise break the graph and compile again for every batch of flags."""
    import torch

    if pipe.unet.device.type == "cuda":
        pipe.unet.to(memory_format=torch.channels_last)
    getattr(pipe.unet, "spatial", pipe.unet).compile()


def load_pipeline(spec: str | ModelRef, names: list[str] | tuple[str, ...] | None = None, device: str | None = None,
                  dtype: str | None = None):
    """The model's pipeline with only the named components (all when None), on `device` in `dtype`."""
    ref = spec if isinstance(spec, ModelRef) else describe_model(spec)
    pipe = pipeline_class(ref.pipeline)(**load_components(ref, names), settings=ref.settings)
    return pipe.to(*device_and_dtype(device, dtype))


def fingerprint(components: dict[str, Any]) -> dict[str, str]:
    """A content hash per component: weights for networks, vocabulary for tokenizers, config otherwise."""
    import torch

    out = {}
    for name, component in sorted(components.items()):
        if component is None:
            continue
        h = hashlib.sha256()
        if isinstance(component, torch.nn.Module):
            for key, tensor in sorted(component.state_dict().items()):
                t = tensor.detach().to("cpu").contiguous()
                h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
                h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
        elif hasattr(component, "get_vocab"):
            h.update(json.dumps(component.get_vocab(), sort_keys=True).encode())
        else:
            config = {k: v for k, v in component.config.items() if not k.startswith("_")}
            h.update(json.dumps(config, sort_keys=True, default=str).encode())
        out[name] = h.hexdigest()[:16]
    return out


def combined_fingerprint(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
