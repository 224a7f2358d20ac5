"""The training function each Ray Train worker runs (TorchTrainer's train_loop_per_worker).

One step: the worker's samples for the step (its own Ray Data stream, see preprocess.py), the
recipe target's loss on them (targets.py; for the UNet: structure encoded from depth obscured by
t_s with the pipeline's own encode_structure, content from one frame's CLIP embedding or ∅, noise
and timestep from (seed, step, rank, slot), the loss on v or ε), an AdamW step on exactly the
recipe's parameters, and, every `checkpoint_every` steps and at the end, a checkpoint through
ray.train.report.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gen1_batch.train.objective import IMAGE, ema_decay, ema_update, learning_rate
from gen1_batch.train.preprocess import SamplePlan

STATE_FILE = "train_state.pt"
STEP_FILE = "step.json"


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker needs (pickled to them)."""

    plan: SamplePlan
    model: Any  # ModelRef of the base model
    output: str  # the run's folder URL (metrics.jsonl goes there)
    validation: tuple[Any, ...] = ()  # TrainingRows held out for validation edits
    device: str | None = None
    torch_threads: int | None = None


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def step_of_checkpoint(path: str) -> int:
    return int(os.path.basename(path.rstrip("/")).removeprefix("step-"))


def base_components(config: WorkerConfig, names: list[str]) -> dict[str, Any]:
    """The base model's components as the recipe trains, validates and exports them: with
    `zero_terminal_snr`, the scheduler rescaled so that its last timestep holds no signal (Lin et al.
    2023). Raises RecipeError when the model's scheduler cannot be."""
    import inspect

    from gen1_batch.model.loading import load_components
    from gen1_batch.train.recipe import RecipeError

    components = load_components(config.model, names)
    recipe, scheduler = config.plan.recipe, components.get("scheduler")
    if recipe.zero_terminal_snr and scheduler is not None:
        src = recipe.source or recipe.name
        if scheduler.config.prediction_type != "v_prediction":  # at SNR 0 the noise says nothing of the image
            raise RecipeError(f"{src}: zero_terminal_snr needs a v-prediction model; {config.model.spec} "
                              f"predicts {scheduler.config.prediction_type}")
        if "rescale_betas_zero_snr" not in inspect.signature(type(scheduler)).parameters:
            raise RecipeError(f"{src}: {config.model.spec}'s {type(scheduler).__name__} has no zero-SNR schedule")
        components["scheduler"] = type(scheduler).from_config(scheduler.config, rescale_betas_zero_snr=True)
    return components


def build_trainable(config: WorkerConfig) -> torch.nn.Module:
    """The recipe target's module, built from the base model, with the recipe's parameters trainable
    (LoRA adapters when asked)."""
    from gen1_batch.model.loading import load_components
    from gen1_batch.train.params import lora_target_modules, select_trainable
    from gen1_batch.train.targets import target_of

    recipe = config.plan.recipe
    target = target_of(recipe)
    module = target.build(load_components(config.model, list(target.trains)))
    if recipe.lora_rank:
        from peft import LoraConfig, inject_adapter_in_model

        targets = lora_target_modules(module, recipe.trains)
        torch.manual_seed(recipe.seed)  # LoRA's down projections start random: the same on every worker
        inject_adapter_in_model(LoraConfig(r=recipe.lora_rank, lora_alpha=recipe.lora_rank,
                                           target_modules=targets), module)
        for name, p in module.named_parameters():
            p.requires_grad_("lora_" in name)
    else:
        select_trainable(module, recipe.trains, target.groups)
    return module


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in module.named_parameters() if p.requires_grad}


def load_trainable(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = dict(module.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in state]
    if missing or any(n not in params for n in state):
        raise ValueError("the checkpoint's parameters are not the ones this recipe trains")
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor)


def train_loop(config_dict: dict[str, Any]) -> None:
    import ray.train
    import torch.distributed as dist
    from ray.train.torch import get_device, prepare_model

    from gen1_batch.model.loading import pipeline_class
    from gen1_batch.stages.common import quiet_model_logs, unpack_arrays
    from gen1_batch.train.metrics_log import METRICS_NAME, MetricsLog
    from gen1_batch.train.targets import StepContext, target_of

    config: WorkerConfig = config_dict["config"]
    plan, recipe = config.plan, config.plan.recipe
    quiet_model_logs()
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = get_device()
    on_gpu = device.type == "cuda"

    target = target_of(recipe)
    module = build_trainable(config)  # the recipe target's (the UNet, or an objective around other parts)
    frozen = base_components(config, list(target.loop_components))
    pipe = pipeline_class(config.model.pipeline)(**frozen, settings=config.model.settings).to(device)
    if on_gpu and getattr(module, "_supports_gradient_checkpointing", False):
        module.enable_gradient_checkpointing()
    params = [p for p in module.parameters() if p.requires_grad]
    ctx = StepContext(pipe=pipe, plan=plan, device=device, on_gpu=on_gpu, params=params)
    ema = [p.detach().clone() for p in params] if recipe.ema_decay else []
    optimizer = torch.optim.AdamW(params, lr=recipe.learning_rate, betas=recipe.betas,
                                  weight_decay=recipe.weight_decay)

    start = 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            state = torch.load(os.path.join(folder, STATE_FILE), map_location="cpu", weights_only=True)
        load_trainable(module, state["trainable"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        if ema and not state["ema"]:  # saved before the recipe kept an EMA
            if start > recipe.ema_start:
                raise RuntimeError(f"the checkpoint at step {start} holds no EMA weights; begin the EMA there "
                                   f"(ema_start = {start} or later)")
            state["ema"] = [p.detach() for p in params]  # not begun yet: the EMA equals the weights
        for e, saved in zip(ema, state["ema"], strict=True):
            e.copy_(saved)

    module.to(device)
    ema = [e.to(device) for e in ema]
    for group in optimizer.state.values():  # moved with the parameters
        for k, v in group.items():
            if torch.is_tensor(v) and k != "step":
                group[k] = v.to(device)
    # Image steps skip the temporal layers, so some parameters get no gradient on those steps.
    model = prepare_model(module, move_to_device=False, parallel_strategy_kwargs={"find_unused_parameters": True})
    model.train()

    log = MetricsLog(f"{config.output.rstrip('/')}/{METRICS_NAME}") if rank == 0 else None
    if log:
        log.restart_at(start)
        log.append({"event": "start", "step": start, "world": world, "trains": list(recipe.trains),
                    "parameters": sum(p.numel() for p in params)}, flush=True)
    stream = iter(ray.train.get_dataset_shard(f"rank{rank}").iter_rows()) if start < recipe.steps else iter(())
    validator = None
    last = time.perf_counter()
    for step in range(start, recipe.steps):
        draws = plan.draws(step, rank)
        rows = [next(stream) for _ in draws]
        if any(int(r["step"]) != step for r in rows):
            raise RuntimeError(f"rank {rank} expected samples of step {step}, got {[int(r['step']) for r in rows]}")
        samples = [(d, unpack_arrays(r["sample"])) for d, r in zip(draws, rows, strict=True) if not r["error"]]
        errors = [str(r["error"]) for r in rows if r["error"]]
        rate = learning_rate(recipe.learning_rate, step, recipe.warmup_steps, recipe.steps, recipe.decay_steps)
        for group in optimizer.param_groups:
            group["lr"] = rate
        loss = target.loss(model, samples, ctx)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ema:
            ema_update(ema, params, ema_decay(recipe.ema_decay, step, recipe.ema_start))

        totals = torch.tensor([loss.item() * len(samples), len(samples), len(errors)], dtype=torch.float64)
        dist.all_reduce(totals)
        if totals[2] > 0:  # every rank's skipped samples are named in the log (rank 0 writes it)
            gathered: list[list[str]] = [[] for _ in range(world)]
            dist.all_gather_object(gathered, errors)
            errors = [e for g in gathered for e in g]
        now = time.perf_counter()
        done = step + 1
        if log:
            for error in errors:
                log.append({"event": "skipped", "step": done, "error": error})
            log.append({"step": done, "loss": round(totals[0].item() / max(totals[1].item(), 1), 6),
                        "lr": optimizer.param_groups[0]["lr"], "samples": int(totals[1].item()),
                        "skipped": int(totals[2].item()), "seconds": round(now - last, 4),
                        "image_step": draws[0].kind == IMAGE})
        last = now
        if (recipe.validate_every and done % recipe.validate_every == 0 and config.validation and rank == 0
                and target.name == "unet"):
            validator = validator or Validator(config, device)
            log.append({"event": "validation", "step": done, **validator.run(module)}, flush=True)
        if done % recipe.checkpoint_every == 0 or done == recipe.steps:
            report_checkpoint(done, module, optimizer, ema, rank, log)
    if start >= recipe.steps and log:
        log.append({"event": "finished", "step": start}, flush=True)


def report_checkpoint(step: int, module: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      ema: list[torch.Tensor], rank: int, log: Any) -> None:
    """Every worker reports; rank 0 hands Ray Train the checkpoint (the others hold the same weights).
    Returns once Ray Train has registered it."""
    import ray.train
    from ray.train import Checkpoint

    if log:
        log.flush()
    with tempfile.TemporaryDirectory(prefix="gen1-ckpt-") as folder:
        checkpoint = None
        if rank == 0:
            torch.save({"step": step, "trainable": trainable_state(module), "optimizer": optimizer.state_dict(),
                        "ema": [e.detach().cpu() for e in ema]}, os.path.join(folder, STATE_FILE))
            with open(os.path.join(folder, STEP_FILE), "w") as f:
                json.dump({"step": step}, f)
            checkpoint = Checkpoint.from_directory(folder)
        ray.train.report({"step": step}, checkpoint=checkpoint, checkpoint_dir_name=checkpoint_name(step))
    # report() returns once the checkpoint is persisted and queued; Ray Train's controller registers it
    # (the one a restart restores) only when it next polls the workers. Wait for that: a worker killed
    # right after a checkpoint then restarts from it, not from the one before (at most one interval lost).
    ray.train.get_all_reported_checkpoints(consistency_mode=ray.train.CheckpointConsistencyMode.COMMITTED)
    if log:
        log.append({"event": "checkpoint", "step": step}, flush=True)


class Validator:
    """Edits the held-out clips with the current UNet and scores them with the report's metrics."""

    def __init__(self, config: WorkerConfig, device: torch.device):
        from gen1_batch.media import read_video
        from gen1_batch.model.loading import pipeline_class
        from gen1_batch.train.objective import cover_size, crop_and_flip

        spec = config.plan.recipe.data
        names = ["vae", "scheduler", "depth_estimator", "image_encoder"]
        self.pipe = pipeline_class(config.model.pipeline)(**base_components(config, names),
                                                          settings=config.model.settings).to(device)
        self.structure = spec.structure if isinstance(spec.structure, int) else 3
        self.clips = []
        for row in config.validation:
            from gen1_batch.media import probe

            info = probe(row.url)
            frames, _ = read_video(row.url, frame_start=info["first_frame"],
                                   frame_end=info["first_frame"] + spec.frames - 1,
                                   size=cover_size(info["width"], info["height"], spec.width, spec.height))
            self.clips.append(crop_and_flip(frames, spec.width, spec.height, 0.5, 0.5, False))

    @torch.no_grad()
    def run(self, unet: torch.nn.Module) -> dict[str, float]:
        from gen1_batch.train.validation import score_edit

        was_training = unet.training
        unet.eval()
        self.pipe.register_modules(unet=unet)
        try:
            scores = [score_edit(self.pipe, clip, self.structure) for clip in self.clips]
        finally:
            unet.train(was_training)
        return {k: round(float(np.mean([s[k] for s in scores])), 6) for k in scores[0]}
