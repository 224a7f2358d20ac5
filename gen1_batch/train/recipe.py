"""Recipes: one training stage each, as a versioned TOML file in gen1_batch/train/recipes/ (or any path).

A recipe says what model it starts from, what trains (parameter groups, see params.py), how the
data is sampled (the paper's clip length, frame stride, image probability, t_s, content dropout),
the optimiser and how often to checkpoint and validate. Its `[paper]` table records the scale the
paper ran at, for reading beside ours; it changes nothing.
"""

from __future__ import annotations

import dataclasses
import tomllib  # Python 3.11+, what the project is tested on
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

RECIPE_FORMAT = 1


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class DataSpec:
    width: int = 448  # crop size, pixels
    height: int = 256
    frames: int = 8  # frames per clip
    frame_stride: int = 4  # source frames between clip frames
    image_probability: float = 0.125  # chance a step is a batch of images (1-frame clips, image mode)
    structure: int | str = "uniform"  # t_s per clip: "uniform" (0-7), a fixed level, or "none" (no depth input)
    content_dropout: float = 0.1  # chance the content is replaced by the null content ∅
    flip: bool = True  # random horizontal flips
    mask_weight: float = 1.0  # the UNet's loss counts this much inside a row's mask (manifest column mask); 1: off

    @property
    def weighs_masks(self) -> bool:
        """Whether samples read their rows' masks and the UNet's loss weighs them."""
        return self.mask_weight != 1


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    base_model: str  # the model a run starts from unless --model says otherwise
    trains: tuple[str, ...]  # parameter groups (its target's `groups`, params.py)
    steps: int
    version: int = 1
    format: int = RECIPE_FORMAT
    target: str = "unet"
    batch_size: int = 1  # samples per worker per step
    # Samples per worker on an image step; 0: batch_size. An image is one frame without the temporal
    # layers, so `data.frames` times batch_size images cost about what a video step does.
    image_batch_size: int = 0
    learning_rate: float = 1e-5
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    decay_steps: int = 0  # the rate falls linearly to 0 over the last this many steps (all, if more); 0: none
    grad_clip: float = 1.0
    # >0: the UNet's loss weighted by min-SNR-γ (Hang et al. 2023; diffusers' --snr_gamma, 5 there):
    # each sample's x₀ error counts min(SNR, γ), so the near-clean timesteps, whose gradients pull
    # against the noisier ones', count less (the paper: 3.4× faster convergence). 0: off
    snr_gamma: float = 0.0
    # True: the base model's noise schedule rescaled so its last timestep is pure noise, as the edit
    # starts from (Lin et al. 2023, diffusers' rescale_betas_zero_snr); the model folder keeps it.
    # Needs v-prediction. False: the base model's schedule as it is.
    zero_terminal_snr: bool = False
    # How the diffusion timesteps are drawn: "uniform", or "logit_normal" (SD3; diffusers' --weighting_scheme
    # logit_normal): t/T = sigmoid(N(logit_mean, logit_std)), so logit_mean > 0 trains the noisier
    # timesteps, where the layout and colours are decided, more often.
    timestep_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    ema_decay: float = 0.0  # 0: no EMA weights
    ema_start: int = 0  # the EMA equals the weights until this step, then averages (diffusers' update_after_step)
    lora_rank: int = 0  # >0: train LoRA adapters on the groups' linear layers (merged into the output)
    seed: int = 0
    checkpoint_every: int = 500
    validate_every: int = 0  # 0: never
    keep_checkpoints: int = 3
    data: DataSpec = field(default_factory=DataSpec)
    paper: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the file it was read from

    @property
    def logit_normal(self) -> tuple[float, float] | None:
        """(mean, std) when timesteps are drawn logit-normal; None when uniform."""
        return (self.logit_mean, self.logit_std) if self.timestep_sampling == "logit_normal" else None

    @property
    def image_batch(self) -> int:
        """Samples per worker on an image step."""
        return self.image_batch_size or self.batch_size

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def recipe_files() -> dict[str, Any]:
    """The packaged recipes by name."""
    folder = resources.files("gen1_batch.train") / "recipes"
    return {p.name.removesuffix(".toml"): p for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".toml")}


def list_recipes() -> dict[str, str]:
    """Name -> one-line description of every packaged recipe."""
    return {name: load_recipe(name).description for name in recipe_files()}


def load_recipe(spec: str) -> Recipe:
    """A packaged recipe by name, or a recipe file by path."""
    files = recipe_files()
    if spec in files:
        source, text = f"recipe {spec}", files[spec].read_text()
    elif spec.endswith(".toml") and Path(spec).is_file():
        source, text = spec, Path(spec).read_text()
    else:
        raise RecipeError(f"{spec!r} is not a recipe ({', '.join(files)}) or a recipe file (.toml)")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{source}: not valid TOML ({e})") from None
    return parse_recipe(raw, source)


def _typed(source: str, key: str, value: Any, default: Any) -> Any:
    """`value` converted to the type of the field's default, or a RecipeError naming the key."""
    kind = type(default)
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise RecipeError(f"{source}: {key} must be a list, got {value!r}")
        return tuple(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if key.endswith("structure"):
        return value
    if kind is not type(value):
        raise RecipeError(f"{source}: {key} must be {kind.__name__}, got {value!r}")
    return value


def parse_recipe(raw: dict[str, Any], source: str = "recipe") -> Recipe:
    raw = dict(raw)
    data_raw = raw.pop("data", {})
    paper = raw.pop("paper", {})
    defaults = {f.name: f for f in dataclasses.fields(Recipe)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in defaults or key in ("data", "paper", "source"):
            raise RecipeError(f"{source}: unknown key {key!r}")
        f = defaults[key]
        default = f.default if f.default is not dataclasses.MISSING else None
        values[key] = _typed(source, key, value, default) if default is not None else (
            tuple(value) if key == "trains" else value)
    data_values = {}
    data_fields = {f.name: f.default for f in dataclasses.fields(DataSpec)}
    for key, value in data_raw.items():
        if key not in data_fields:
            raise RecipeError(f"{source}: unknown key data.{key}")
        data_values[key] = _typed(source, f"data.{key}", value, data_fields[key])
    missing = [k for k in ("name", "description", "base_model", "trains", "steps") if k not in values]
    if missing:
        raise RecipeError(f"{source}: missing {', '.join(missing)}")
    recipe = Recipe(**values, data=DataSpec(**data_values), paper=paper, source=source)
    check_recipe(recipe)
    return recipe


def check_recipe(recipe: Recipe) -> None:
    """The rules every recipe (and every command-line override of one) must follow."""
    from gen1_batch.model.structure import MAX_STRUCTURE_LEVEL
    from gen1_batch.train.targets import TARGETS

    src, d = recipe.source or recipe.name, recipe.data
    problems = []
    if recipe.format != RECIPE_FORMAT:
        problems.append(f"format {recipe.format} is not {RECIPE_FORMAT}, the format this gen1 reads")
    if recipe.target not in TARGETS:
        problems.append(f"target {recipe.target!r} is not one this engine trains ({', '.join(TARGETS)})")
    else:
        groups = TARGETS[recipe.target].groups
        unknown = [g for g in recipe.trains if g not in groups]
        if unknown or not recipe.trains:
            problems.append(f"trains names {', '.join(unknown) or 'nothing'}; the groups of a {recipe.target} "
                            f"recipe are {', '.join(groups)}")
    if recipe.lora_rank and recipe.target != "unet":
        problems.append(f"a {recipe.target} recipe trains no LoRA adapters: lora_rank = 0")
    if recipe.steps < 1 or recipe.batch_size < 1 or recipe.checkpoint_every < 1:
        problems.append("steps, batch_size and checkpoint_every must be at least 1")
    if recipe.image_batch_size < 0:
        problems.append(f"image_batch_size must be 0 (batch_size) or more, got {recipe.image_batch_size}")
    if not 0 <= d.image_probability <= 1 or not 0 <= d.content_dropout <= 1:
        problems.append("data.image_probability and data.content_dropout must be from 0 to 1")
    if d.frames < 2 or d.frame_stride < 1:
        problems.append("data.frames must be at least 2 and data.frame_stride at least 1")
    if not (d.structure in ("uniform", "none") or (isinstance(d.structure, int)
                                                  and 0 <= d.structure <= MAX_STRUCTURE_LEVEL)):
        problems.append(f"data.structure must be 'uniform', 'none' or 0..{MAX_STRUCTURE_LEVEL}, got {d.structure!r}")
    if d.mask_weight <= 0:
        problems.append(f"data.mask_weight must be above 0 (1: masks unused), got {d.mask_weight}")
    elif d.weighs_masks and recipe.target != "unet":
        problems.append(f"data.mask_weight weighs the UNet's loss; a {recipe.target} recipe keeps 1")
    if recipe.snr_gamma < 0:
        problems.append(f"snr_gamma must be 0 (off) or more, got {recipe.snr_gamma}")
    elif recipe.snr_gamma and recipe.target != "unet":
        problems.append(f"snr_gamma weighs the UNet's loss; a {recipe.target} recipe keeps 0")
    if recipe.timestep_sampling not in ("uniform", "logit_normal"):
        problems.append(f"timestep_sampling must be 'uniform' or 'logit_normal', got {recipe.timestep_sampling!r}")
    elif recipe.timestep_sampling != "uniform" and recipe.target not in ("unet", "prior"):
        problems.append(f"timestep_sampling draws diffusion timesteps; a {recipe.target} recipe has none")
    if recipe.zero_terminal_snr and recipe.target != "unet":
        problems.append(f"zero_terminal_snr rescales the UNet's noise schedule; a {recipe.target} recipe keeps false")
    if recipe.logit_std <= 0:
        problems.append(f"logit_std must be above 0, got {recipe.logit_std}")
    if recipe.warmup_steps < 0 or recipe.decay_steps < 0:
        problems.append("warmup_steps and decay_steps must be 0 or more")
    if not 0 <= recipe.ema_decay < 1:
        problems.append("ema_decay must be from 0 (off) to below 1")
    if not 0 <= recipe.ema_start < recipe.steps:
        problems.append("ema_start must be from 0 to below steps")
    if problems:
        raise RecipeError(f"{src}: " + "; ".join(problems))
