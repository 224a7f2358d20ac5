"""`gen1 train` and `gen1 customize`: train the Gen-1 model on Ray Train (see gen1_batch/train/)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gen1_batch.cli.common import fail, log, out, print_problems
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.train.data import TRAIN_COLUMNS
from gen1_batch.train.recipe import list_recipes

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)


def _recipes_help() -> str:
    return "\n\n".join(f"[bold]{name}[/]: {description}" for name, description in list_recipes().items())


def _columns_help() -> str:
    return "\n\n".join(f"[bold]{name}[/]: {text}" for name, text in TRAIN_COLUMNS.items())


AddressOpt = Annotated[str | None, typer.Option(help="Ray cluster: 'auto' (on a cluster node) or ray://HEAD:10001; "
                                                     "default: a local Ray started here.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Training workers (DDP ranks).")]
GpusOpt = Annotated[float, typer.Option(min=0, help="GPUs per worker (0: CPU workers).")]


def _run(opts: Any) -> dict[str, Any]:
    """Run the training and turn every expected failure into one line and its exit code."""
    from ray.train import TrainingFailedError

    from gen1_batch.manifest import ManifestError
    from gen1_batch.model.loading import ModelNotFound
    from gen1_batch.pipeline import short_error
    from gen1_batch.train.metrics_log import read_records
    from gen1_batch.train.progress import TrainProgress
    from gen1_batch.train.recipe import RecipeError
    from gen1_batch.train.run import NothingToResume, RunMismatch, Watcher, train

    bars: list[TrainProgress] = []

    def progress(prepared: Any, start: int) -> Watcher:
        bar = TrainProgress(log, prepared.recipe.steps, start)
        bars.append(bar)
        url = f"{prepared.config.output.rstrip('/')}/metrics.jsonl"
        return Watcher(url, bar.record, skip=len(read_records(url)))  # a continued run: only its own lines

    try:
        return train(opts, lambda line: log.print(line, markup=False, soft_wrap=True), progress)
    except ManifestError as e:
        print_problems(e.url, e.problems)
        raise typer.Exit(2) from None
    except (RecipeError, ModelNotFound, RunMismatch, NothingToResume) as e:
        raise fail(str(e)) from None
    except TrainingFailedError as e:
        raise fail(f"training failed: {short_error(e)}", 1) from None
    finally:
        for bar in bars:
            bar.close()


@app.command(help="Train the Gen-1 model with a recipe on Ray Train (CPU or GPU workers, one machine or a "
                  "cluster). Checkpoints, metrics.jsonl and the model folder go to --output; the same command "
                  "again continues from the last checkpoint.\n\n[bold]Recipes[/] (or a .toml file):\n\n"
                  + _recipes_help() + "\n\n[bold]Training manifest columns[/] (.jsonl, .csv or .parquet):\n\n"
                  + _columns_help())
def train(
    recipe: Annotated[str, typer.Argument(help="A recipe name (listed above) or a recipe .toml file.")],
    data: Annotated[str, typer.Option(help="Training manifest: rows with a video or an image; path or URL.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Run folder or URL: checkpoints/, metrics.jsonl, "
                                                               "model/.")],
    model: Annotated[str | None, typer.Option(help="Base model (default: the recipe's): a preset, a model "
                                                   "folder (an earlier stage's), a URL or a hub id.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Train to this step (default: the recipe's).")] = None,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusOpt = 0.0,
    resume: Annotated[bool, typer.Option("--resume", help="Require a checkpoint at --output to continue from "
                                                          "(without it, one is used when there).")] = False,
    max_failures: Annotated[int, typer.Option(min=0, help="Worker failures survived (each restarts the workers "
                                                          "from the last checkpoint).")] = 3,
    address: AddressOpt = None,
) -> None:
    from gen1_batch.train.run import TrainOptions

    summary = _run(TrainOptions(recipe=recipe, data=data, output=output, model=model, steps=steps, workers=workers,
                                gpus_per_worker=gpus_per_worker, resume=resume, address=address,
                                max_failures=max_failures))
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    loss = (f", loss {summary['first_loss']:.4f} -> {summary['last_loss']:.4f}"
            if summary["first_loss"] is not None else "")
    skipped = f", {summary['skipped']} sample(s) skipped" if summary["skipped"] else ""
    out.print(f"trained steps {summary['start']}-{summary['steps']} in {summary['seconds']} s{loss}{skipped}")
    for v in summary["validation"]:
        out.print(f"validation at step {v['step']}: frame consistency {v['frame_consistency']:.4f}, structure "
                  f"error {v['structure_error']:.4f}")
    out.print(f"model folder: {summary['model']}  (gen1 run MANIFEST --model {summary['model']} --output OUT)",
              soft_wrap=True)


@app.command(help="The paper's customization: finetune a model on 15-30 images of a subject or style (image "
                  "mode, LoRA merged into the UNet), then compare edits of the base and the customized model: "
                  "reference consistency (CLIP similarity of the edited frames to the images) is printed.")
def customize(
    images: Annotated[list[str], typer.Argument(help="The images (paths or URLs); 15-30 is what the paper used.")],
    output: Annotated[str, typer.Option("--output", "-o", help="The customized model folder (its training run "
                                                               "goes to OUTPUT/training).")],
    model: Annotated[str, typer.Option(help="The base model (a trained one: customizing random weights shows "
                                            "nothing).")] = DEFAULT_MODEL,
    prompt: Annotated[str, typer.Option(help="The prompt of the comparison edits.")] = "in the style of the images",
    clip: Annotated[str | None, typer.Option(help="The video the comparison edits (its first 8 frames); default: a "
                                                  "synthesized clip. Use a shot like the ones you will edit.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Steps (default: the customize recipe's).")] = None,
    require_higher: Annotated[bool, typer.Option(help="Exit 1 when the customized model does not score higher "
                                                      "than the base (for scripts).")] = False,
    workers: WorkersOpt = 1,
    gpus_per_worker: GpusOpt = 0.0,
    address: AddressOpt = None,
) -> None:
    from gen1_batch import storage
    from gen1_batch.train.customize import compare, image_rows
    from gen1_batch.train.run import TrainOptions

    if len(images) < 2:
        raise fail("customize needs several images of the subject or style (the paper used 15-30)")
    output = storage.absolute(output)
    rows = image_rows(images)
    summary = _run(TrainOptions(recipe="customize", data=rows, output=storage.join(output, "training"), model=model,
                                steps=steps, workers=workers, gpus_per_worker=gpus_per_worker, address=address,
                                model_target=output))
    _print_summary(summary)
    base, custom = compare(model, output, [r.url for r in rows], prompt, clip)
    out.print(f"reference consistency to the {len(rows)} images, editing with {prompt!r}: base {base:.4f}, "
              f"customized {custom:.4f} ({'higher' if custom > base else 'NOT higher'})")
    if require_higher and custom <= base:
        raise typer.Exit(1)
