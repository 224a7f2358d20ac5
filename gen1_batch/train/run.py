"""The driver of a training run: check the recipe, the manifest and the output, start (or continue)
the Ray Train run, show its progress, and write the model folder at the end.

Layout of OUTPUT (a local folder or any fsspec URL):

    run.json         what the run is (recipe, data, base model, workers): a later command must match it
    checkpoints/     Ray Train's run folder: step-00000020/ … (trained parameters, optimiser, EMA)
    metrics.jsonl    one line per step (loss, samples, seconds), validation and event
    model/           the trained model folder, for `gen1 run --model OUTPUT/model`
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gen1_batch import storage
from gen1_batch.model.settings import MODEL_INDEX
from gen1_batch.train.data import TrainingRow, load_training_manifest, needs_problems
from gen1_batch.train.loop import WorkerConfig, step_of_checkpoint, train_loop
from gen1_batch.train.metrics_log import METRICS_NAME, read_records
from gen1_batch.train.preprocess import SamplePlan, worker_dataset
from gen1_batch.train.recipe import Recipe, check_recipe, load_recipe

RUN_NAME = "checkpoints"
RUN_FILE = "run.json"
MODEL_NAME = "model"


class RunMismatch(ValueError):
    """OUTPUT holds another run (a different recipe, data, model or number of workers)."""


class NothingToResume(ValueError):
    """--resume, but OUTPUT has no checkpoint."""


@dataclass(frozen=True)
class TrainOptions:
    recipe: str
    data: str | list[TrainingRow]  # a training manifest URL, or rows (gen1 customize)
    output: str
    model: str | None = None
    steps: int | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float | None = None
    preprocess_gpus: float = 0.0
    resume: bool = False
    address: str | None = None
    max_failures: int = 3
    torch_threads: int | None = None  # per training worker; default: its share of the cluster's CPUs
    model_target: str | None = None  # where the model folder goes (default OUTPUT/model)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)  # recipe fields (customize)


@dataclass(frozen=True)
class Prepared:
    recipe: Recipe
    rows: list[TrainingRow]
    config: WorkerConfig
    identity: dict[str, Any]


def prepare(opts: TrainOptions) -> Prepared:
    """Everything checked before Ray starts (raises RecipeError, ManifestError, ModelNotFound)."""
    from gen1_batch.model.loading import describe_model
    from gen1_batch.train.targets import target_of

    recipe = load_recipe(opts.recipe).replace(steps=opts.steps, **opts.overrides)
    output = storage.absolute(opts.output.removeprefix("file://"))  # workers run in other folders
    check_recipe(recipe)
    data_url = opts.data if isinstance(opts.data, str) else "images"
    rows = load_training_manifest(opts.data) if isinstance(opts.data, str) else list(opts.data)
    needs_problems(rows, recipe.data.image_probability, data_url, depth=target_of(recipe).needs_depth_truth,
                   mask=recipe.data.weighs_masks)
    model = describe_model(opts.model or recipe.base_model)
    train = [r for r in rows if r.split == "train"]
    scheduler_timesteps = 1000
    plan = SamplePlan(recipe=recipe, videos=tuple(r for r in train if r.kind == "video"),
                      images=tuple(r for r in train if r.kind == "image"), world=opts.workers,
                      train_timesteps=scheduler_timesteps)
    validation = tuple(r for r in rows if r.split == "validation" and r.kind == "video")
    config = WorkerConfig(plan=plan, model=model, output=output, validation=validation)
    identity = {"recipe": recipe.name, "recipe_version": recipe.version, "data": data_url, "model": model.spec,
                "model_key": model.key, "workers": opts.workers, "batch_size": recipe.batch_size,
                "image_batch_size": recipe.image_batch, "seed": recipe.seed,
                "trains": list(recipe.trains), "lora_rank": recipe.lora_rank}
    if recipe.zero_terminal_snr:
        from gen1_batch.train.loop import base_components

        base_components(config, ["scheduler"])  # refused here, not in a worker
    return Prepared(recipe, rows, config, identity)


def ray_storage(output: str) -> tuple[str, Any]:
    """RunConfig's storage_path and storage_filesystem for OUTPUT: a local folder as is, any other
    fsspec URL through pyarrow's PyFileSystem(FSSpecHandler)."""
    if not storage.is_url(output) or output.startswith("file://"):
        return os.path.abspath(output.removeprefix("file://")), None
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, path = storage.filesystem(output)
    return path, PyFileSystem(FSSpecHandler(fs))


def latest_checkpoint(output: str) -> tuple[int, Any] | None:
    """(step, Checkpoint) of the run's latest registered checkpoint, as Ray Train restores it; None
    when the run has none."""
    from ray.train import Result

    path, filesystem = ray_storage(output)
    try:
        result = Result.from_path(f"{path.rstrip('/')}/{RUN_NAME}", storage_filesystem=filesystem)
    except (RuntimeError, FileNotFoundError, ValueError):  # no run there yet
        return None
    if result.checkpoint is None:
        return None
    return step_of_checkpoint(result.checkpoint.path), result.checkpoint


class WorkerDataset:
    """The dataset of one worker, made when its worker group starts (Ray Train calls it again after a
    worker failure), from the step the run will restore."""

    def __init__(self, config: WorkerConfig, rank: int, num_cpus: float, num_gpus: float):
        self.config, self.rank, self.num_cpus, self.num_gpus = config, rank, num_cpus, num_gpus

    def __call__(self) -> Any:
        found = latest_checkpoint(self.config.output)
        return worker_dataset(self.config.plan, self.config.model, self.rank, found[0] if found else 0,
                              self.num_cpus, self.num_gpus)


def check_identity(output: str, identity: dict[str, Any], resume: bool) -> int:
    """The step a run at OUTPUT continues from (0 for a new run); raises RunMismatch or NothingToResume."""
    url = storage.join(output, RUN_FILE)
    try:
        previous = storage.read_json(url)
    except FileNotFoundError:
        previous = None
    if previous is not None:
        previous = {"image_batch_size": previous.get("batch_size"), **previous}  # before it was a recipe key
        changed = [k for k in identity if previous.get(k) != identity[k]]
        if changed:
            details = ", ".join(f"{k} {previous.get(k)!r} -> {identity[k]!r}" for k in changed)
            raise RunMismatch(f"{output} holds another training run ({details}); continue it with the same "
                              "options, or choose another --output")
    found = latest_checkpoint(output)
    if resume and found is None:
        raise NothingToResume(f"--resume: {output} has no checkpoint to continue from")
    if previous is None:
        storage.write_json_atomic(url, identity)
    return found[0] if found else 0


def start_ray(address: str | None) -> None:
    import ray

    from gen1_batch.pipeline import forwarded_env, quiet_ray_console

    quiet_ray_console()
    if ray.is_initialized():
        return
    in_job = "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ
    # Workers' own lines (Ray Train's and Ray Data's notices) stay in Ray's log files; the run's
    # progress is read from metrics.jsonl, and a failure comes back as the trainer's error.
    ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
             runtime_env=None if in_job else {"env_vars": forwarded_env()})
    quiet_ray_console()


def resources(opts: TrainOptions) -> tuple[float, float]:
    """CPUs for each training worker and each worker's preprocessing actor: on CPU, the cluster's
    cores split between them; with GPUs, one core each."""
    import ray

    if opts.cpus_per_worker:
        return opts.cpus_per_worker, opts.cpus_per_worker
    if opts.gpus_per_worker:
        return 1.0, 1.0
    share = ray.cluster_resources().get("CPU", 1.0) / (2 * opts.workers)
    return min(1.0, share), min(1.0, share)


def train(opts: TrainOptions, say: Callable[[str], None], progress: Callable[[Prepared, int], Any] | None = None
          ) -> dict[str, Any]:
    """Run (or continue) a training run to its last step and write the model folder. Returns a summary."""
    from ray.data import DataContext
    from ray.data._internal.execution.interfaces import ExecutionOptions
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from gen1_batch.train.export import export_model

    prepared = prepare(opts)
    recipe, config = prepared.recipe, prepared.config
    opts = dataclasses.replace(opts, output=config.output)
    start = check_identity(opts.output, prepared.identity, opts.resume)
    run_folder = storage.join(opts.output, RUN_NAME)
    target = opts.model_target or storage.join(opts.output, MODEL_NAME)
    if start >= recipe.steps and storage.exists(storage.join(target, MODEL_INDEX)):
        # Finished: its model folder stays as it is (rewritten, it would look like a new model to
        # every run that starts from it).
        say(f"finished at step {start}; the model is {target}")
        return summary(opts, start, start, target, None, 0.0)
    say(f"continuing from the checkpoint at step {start} ({run_folder}/step-{start:08d})" if start else
        f"starting at step 0 of {recipe.steps}")
    start_ray(opts.address)
    cpus, preprocess_cpus = resources(opts)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_no_progress_timeout_s = -1
    storage_path, filesystem = ray_storage(opts.output)
    threads = opts.torch_threads or max(1, int(cpus))
    config = dataclasses.replace(config, torch_threads=threads)
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={"config": config},
        scaling_config=ScalingConfig(num_workers=opts.workers, use_gpu=opts.gpus_per_worker > 0,
                                     resources_per_worker={"CPU": cpus, **({"GPU": opts.gpus_per_worker}
                                                                           if opts.gpus_per_worker else {})}),
        run_config=RunConfig(name=RUN_NAME, storage_path=storage_path, storage_filesystem=filesystem,
                             failure_config=FailureConfig(max_failures=opts.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=recipe.keep_checkpoints)),
        datasets={f"rank{r}": WorkerDataset(config, r, preprocess_cpus, opts.preprocess_gpus)
                  for r in range(opts.workers)},
        dataset_config=DataConfig(datasets_to_split=[], execution_options=ExecutionOptions(preserve_order=True)),
    )
    started = time.monotonic()
    watcher = progress(prepared, start) if progress else None
    try:
        result = trainer.fit()
    finally:
        if watcher:
            watcher.stop()
    if result.checkpoint is None:
        raise RuntimeError("the run ended without a checkpoint")
    final = step_of_checkpoint(result.checkpoint.path)
    with result.checkpoint.as_directory() as folder:
        export_model(config, folder, target, {**prepared.identity, "steps": final, "recipe_file": recipe.source})
    return summary(opts, start, final, target, result.checkpoint.path, time.monotonic() - started)


def summary(opts: TrainOptions, start: int, final: int, model: str, checkpoint: str | None,
            seconds: float) -> dict[str, Any]:
    """What a run did, from its metrics log."""
    records = read_records(storage.join(opts.output, METRICS_NAME))
    steps = [r for r in records if "loss" in r]
    return {"start": start, "steps": final, "model": model, "checkpoint": checkpoint, "seconds": round(seconds, 1),
            "step_seconds": round(sum(r.get("seconds", 0) for r in steps), 1),
            "skipped": sum(r.get("skipped", 0) for r in steps),
            "first_loss": steps[0]["loss"] if steps else None, "last_loss": steps[-1]["loss"] if steps else None,
            "validation": [r for r in records if r.get("event") == "validation"][-1:]}


class Watcher:
    """Follows metrics.jsonl from a thread and hands each new record to `on_record`."""

    def __init__(self, url: str, on_record: Callable[[dict[str, Any]], None], skip: int, interval: float = 1.0):
        self.url, self.on_record, self.seen, self.interval = url, on_record, skip, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        records = read_records(self.url)
        if len(records) < self.seen:  # a restarted run dropped the lines after its checkpoint
            self.seen = len(records)
        for record in records[self.seen:]:
            self.on_record(record)
        self.seen = len(records)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll()
            except Exception:  # progress display only; the run itself reports its errors
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self._poll()
