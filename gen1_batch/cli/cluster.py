"""`gen1 submit`, `gen1 status` and `gen1 logs`: jobs on a Ray cluster, through its Jobs API."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from gen1_batch import storage
from gen1_batch.cli.common import JsonOpt, ManifestArg, OcioOpt, check_output, fail, log, out
from gen1_batch.cli.options import column_args, column_options
from gen1_batch.cli.run import JOB_WIDE_HELP, checked_shots
from gen1_batch.errors import describe
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.shot import JOB_WIDE

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)

ClusterOpt = Annotated[str | None, typer.Option(help="The cluster's Ray Jobs address, http://HEAD:8265 (default: "
                                                     "$RAY_ADDRESS).")]


def _jobs_client(address: str | None) -> Any:
    """A Ray Jobs client that sends the cluster's token when one is here; without the token a cluster
    needs, or with one it refuses, one line that says what to do (exit 2)."""
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    from gen1_batch.submit import TOKEN_HOWTO, auth_headers

    where = address or os.environ.get("RAY_ADDRESS") or "$RAY_ADDRESS"
    try:
        headers = auth_headers()
    except AuthenticationError as e:  # a token file that cannot be read
        raise fail(f"cannot load the Ray authentication token here: {describe(e)}") from None
    try:
        return JobSubmissionClient(address, headers=headers)
    except AuthenticationError:
        if headers:
            raise fail(f"the Ray cluster at {where} refused the authentication token found here (it is not this "
                       f"cluster's): {TOKEN_HOWTO}") from None
        raise fail(f"the Ray cluster at {where} requires its authentication token, and none was found here: "
                   f"{TOKEN_HOWTO}") from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise fail(f"cannot reach the Ray Jobs API at {where}: {describe(e)}") from None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@column_options(JOB_WIDE, JOB_WIDE_HELP)
def submit(
    ctx: typer.Context,
    manifest: ManifestArg,
    output: Annotated[str, typer.Option("--output", "-o", help="Output URL, as the cluster sees it.")],
    address: ClusterOpt = None,
    run_id: Annotated[str | None, typer.Option(help="Names a scheduled run (the date, say): the same manifest "
                                                    "and options with another run id run again.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job's log until it ends; exit as it did.")] = False,
    upload_package: Annotated[bool, typer.Option(help="Ship this gen1-batch's code with the job (off when the "
                                                      "cluster image has the same version).")] = True,
    check_output_here: Annotated[bool, typer.Option("--check-output/--no-check-output", help="Check from here "
                                                    "that a URL --output can be written (a local path is the "
                                                    "cluster's: the job checks it there).")] = True,
    model: Annotated[str | None, typer.Option(help=f"The model (default {DEFAULT_MODEL}; with --train, the "
                                                   "recipe's): a preset, a model folder, an fsspec URL or a hub "
                                                   "id.")] = None,
    train: Annotated[str | None, typer.Option(help="Submit `gen1 train RECIPE` instead: MANIFEST is its training "
                                                   "manifest (--data), and the options `gen1 train` takes "
                                                   "(--workers, --gpus-per-worker, --steps, …) may follow.")] = None,
    ocio: OcioOpt = None,
    json_output: JsonOpt = False,
    columns: dict[str, Any] | None = None,
) -> None:
    """Submit `gen1 run` to a Ray cluster as a Ray job. The model and the job-wide values are checked
    here, and every other option `gen1 run` takes (--actors, --gpus, --force, …) may follow and is
    passed on. Submitting the same run again does not
    start it twice; after a failed attempt it starts the next, which resumes from the finished shots.
    With --train RECIPE it submits `gen1 train` (the model is the recipe's unless --model says), which
    continues from the last checkpoint when submitted again.
    """
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.model.settings import DEFAULT_SETTINGS
    from gen1_batch.pipeline import forwarded_env
    from gen1_batch.submit import entrypoint, runtime_env, submission_id
    from gen1_batch.submit import submit as submit_job

    columns = columns or {}
    given = [k for k, v in columns.items() if v is not None]
    if train and given:
        raise fail(f"--train: {', '.join('--' + k.replace('_', '-') for k in given)} are edit options, not "
                   "training ones")
    model_spec = model or (_recipe_model(train) if train else DEFAULT_MODEL)
    try:  # fail here, not an hour later on the cluster
        settings = describe_model(model_spec).settings
    except ModelNotFound as e:
        if not (model_spec.startswith("/") and not os.path.exists(model_spec)):
            raise fail(str(e)) from None
        # A folder on the cluster's volume (/models/...): check here what does not depend on the
        # model; the job checks the rest (sizes, windows) before it starts.
        log.print(f"note: {model_spec} is not on this machine; the cluster checks what depends on it",
                  soft_wrap=True)
        settings = {**DEFAULT_SETTINGS, "resolution_multiple": 1, "max_window": sys.maxsize}
    if train:
        _check_training_manifest(manifest, train)
    else:
        checked_shots(manifest, settings, ocio, **columns)
    if check_output_here and storage.is_url(output) and not output.startswith("file://"):
        check_output(output)
    manifest_url, output_url = storage.absolute(manifest), storage.absolute(output)
    if train:
        command = entrypoint([train, "--data", manifest_url, "--output", output_url,
                              *(["--model", model] if model else []), *ctx.args], "train")
    else:
        command = entrypoint([manifest_url, "--output", output_url, "--model", model_spec,
                              *(["--ocio", ocio] if ocio else []), *column_args(columns), *ctx.args])
    base_id = submission_id(command, manifest, run_id)
    client = _jobs_client(address)
    try:
        result = submit_job(client, command, base_id, runtime_env(forwarded_env(), upload_package),
                            {"manifest": manifest_url, "output": output_url, "run_id": run_id or ""})
    except RuntimeError as e:  # the Jobs API answered with an error (no agent ready yet, a bad runtime env)
        raise fail(f"the Ray cluster did not take the job: {e}", 1) from None
    if json_output:
        out.print_json(json.dumps(result.__dict__))
    else:
        said = {"submitted": "submitted", "running": "is already running as", "succeeded": "already succeeded as"}
        out.print(f"{said[result.action]} [bold]{result.submission_id}[/] "
                  f"(gen1 status {result.submission_id}; gen1 logs {result.submission_id})")
    if wait:
        raise typer.Exit(_follow(client, result.submission_id))


def _recipe_model(recipe: str) -> str:
    from gen1_batch.train.recipe import RecipeError, load_recipe

    try:
        return load_recipe(recipe).base_model
    except RecipeError as e:
        raise fail(str(e)) from None


def _check_training_manifest(manifest: str, recipe: str) -> None:
    """The training manifest's rows, checked here as `gen1 train` checks them (every problem, exit 2);
    the files themselves are the cluster's to read."""
    from gen1_batch.cli.common import print_problems
    from gen1_batch.manifest import ManifestError
    from gen1_batch.train.data import load_training_manifest, needs_problems
    from gen1_batch.train.recipe import load_recipe

    try:
        rows = load_training_manifest(manifest, check_files=False)
        needs_problems(rows, load_recipe(recipe).data.image_probability, manifest)
    except ManifestError as e:
        print_problems(e.url, e.problems)
        raise typer.Exit(2) from None


def _follow(client: Any, submission_id: str) -> int:
    """Print the job's log as it comes; 0 if it succeeded, 1 otherwise."""
    import asyncio

    async def tail() -> None:
        async for lines in client.tail_job_logs(submission_id):
            log.out(lines, end="", highlight=False)

    asyncio.run(tail())
    status = str(client.get_job_status(submission_id).value)
    log.print(f"{submission_id}: {status}")
    return 0 if status == "SUCCEEDED" else 1


@app.command()
def status(
    submission_id: Annotated[str, typer.Argument(help="The id `gen1 submit` printed.")],
    address: ClusterOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """A submitted job's status, times and message."""
    client = _jobs_client(address)
    try:
        info = client.get_job_info(submission_id)
    except RuntimeError as e:
        raise fail(f"{submission_id}: {e}") from None
    facts = {"submission_id": submission_id, "status": str(info.status.value), "message": info.message,
             "entrypoint": info.entrypoint, "start_time": info.start_time, "end_time": info.end_time,
             "metadata": info.metadata}
    if json_output:
        out.print_json(json.dumps(facts, default=str))
        return
    for key, value in facts.items():
        out.print(f"[bold]{key}[/]: {escape(str(value))}", soft_wrap=True)


@app.command()
def logs(
    submission_id: Annotated[str, typer.Argument(help="The id `gen1 submit` printed.")],
    address: ClusterOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
) -> None:
    """A submitted job's log (its driver's output: the progress lines and the summary)."""
    client = _jobs_client(address)
    if follow:
        raise typer.Exit(_follow(client, submission_id))
    try:
        out.out(client.get_job_logs(submission_id), end="", highlight=False)
    except RuntimeError as e:
        raise fail(f"{submission_id}: {e}") from None


