"""The `gen1` command line. Exit codes: 0 every shot succeeded, 1 the job finished with failed
shots, 2 usage or manifest errors, 130 interrupted (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from gen1_batch import __version__, storage
from gen1_batch.errors import describe
from gen1_batch.interrupt import EXIT_INTERRUPTED
from gen1_batch.manifest import COLUMNS, JobDefaults, ManifestError, Problem, load_manifest, missing_files


class OneLineErrors(TyperGroup):
    """Every command ends in one line, never a traceback: an error no command handled itself is
    said in one line naming what failed (errors.describe), exit 1. GEN1_TRACEBACK=1 shows the
    traceback instead, for a bug report."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # exits, Ctrl-C and usage errors, as Typer shows them
            raise
        except Exception as error:
            if os.environ.get("GEN1_TRACEBACK"):
                raise
            raise fail(describe(error), 1) from None


app = typer.Typer(
    cls=OneLineErrors,
    help="Structure- and content-guided video editing (Gen-1) for manifests of shots, on Ray.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
models_app = typer.Typer(help="Model presets and model folders.", no_args_is_help=True)
app.add_typer(models_app, name="models")

out = Console(highlight=False)  # results: tables, JSON
log = Console(stderr=True, highlight=False)  # progress and messages


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say `message` on one line (at any width, brackets as they are) and exit with `code`."""
    log.print(f"[red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True)  # paths are long
    return typer.Exit(code)


def check_output(output: str, folder: bool = True) -> None:
    """Exit 2 with one line when nothing can be written at `output`: before any work, not after it."""
    from rich.markup import escape

    problem = storage.output_problem(storage.absolute(output), folder)
    if problem:
        raise fail(escape(f"--output {output}: {problem}"))


def print_problems(url: str, problems: list[Problem]) -> None:
    """One line per problem, whole at any terminal width (paths are long) and easy to grep."""
    log.print(f"[red]{escape(url)}: {len(problems)} problem(s)[/]", soft_wrap=True)
    for p in problems:
        log.print(f"  {escape(str(p))}", soft_wrap=True)


def _checked_shots(manifest: str, settings: dict[str, Any], **flags: Any) -> list:
    """The manifest's shots, with job defaults from the model's settings and the flags; on problems,
    list every one and exit 2."""
    defaults = JobDefaults(steps=settings["default_steps"], window=settings["window_length"]).replace(**flags)
    try:
        return load_manifest(manifest, defaults, size_multiple=settings["resolution_multiple"],
                             max_window=settings["max_window"])
    except ManifestError as e:
        print_problems(manifest, e.problems)
        raise typer.Exit(2) from None


def _parse_stage_options(values: list[str], option: str, cast: type) -> dict[str, Any]:
    from gen1_batch.stages.spec import MODEL_STAGES

    parsed = {}
    for value in values:
        stage, sep, amount = value.partition("=")
        if not sep or stage not in MODEL_STAGES:
            raise fail(f"{option} takes STAGE=VALUE with STAGE one of {', '.join(MODEL_STAGES)}, got {value!r}")
        try:
            parsed[stage] = cast(amount)
        except ValueError:
            raise fail(f"{option} {value!r}: {amount!r} is not a {cast.__name__}") from None
    return parsed


def _actors(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    return int(low), int(high or low)


ManifestArg = Annotated[str, typer.Argument(help="Manifest: .jsonl, .csv or .parquet; a path or fsspec URL. "
                                                 "Columns: see `gen1 validate --help` or the README.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ModelOpt = Annotated[str, typer.Option(help="A preset (see `gen1 models list`), a model folder, an fsspec URL "
                                            "or a hub id (org/name[@revision]).")]


@app.command()
def run(
    ctx: typer.Context,
    manifest: ManifestArg,
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder or URL; each shot gets a subfolder.")],
    model: ModelOpt = "tiny",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (auto, ray://HEAD:10001). Default: "
                                                     "start Ray in this process on this machine.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo every shot, finished ones too.")] = False,
    only_failed: Annotated[bool, typer.Option("--only-failed", help="Redo only shots whose last report says "
                                                                    "failed; leave all others as they are.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (shots, frames, outputs, skips) "
                                                            "without loading any model.")] = False,
    structure: Annotated[int | None, typer.Option(min=0, max=7, help="Default t_s (0-7).")] = None,
    content_scale: Annotated[float | None, typer.Option(min=0, help="Default ω.")] = None,
    temporal_scale: Annotated[float | None, typer.Option(min=0, help="Default ω_t.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Default steps (else the model's).")] = None,
    width: Annotated[int | None, typer.Option(help="Default working width.")] = None,
    height: Annotated[int | None, typer.Option(help="Default working height.")] = None,
    output_format: Annotated[str | None, typer.Option(help="Default output format.")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="Default negative prompt.")] = None,
    window: Annotated[int | None, typer.Option(min=1, help="Default frames per window (else the model's).")] = None,
    window_stride: Annotated[int | None, typer.Option(min=1, help="Default window stride (else half the "
                                                                   "window).")] = None,
    window_blend: Annotated[str | None, typer.Option(help="Default blend: pyramid, flat or gaussian.")] = None,
    window_shift: Annotated[bool | None, typer.Option("--window-shift/--no-window-shift",
                                                      help="Default: move window boundaries each step.")] = None,
    free_noise: Annotated[bool | None, typer.Option("--free-noise/--no-free-noise",
                                                    help="Default: FreeNoise initial noise.")] = None,
    damaged_frames: Annotated[str | None, typer.Option(help="Default for a frame that cannot be decoded: fail "
                                                            "(the shot), nearest (good frame) or black.")] = None,
    retime: Annotated[bool | None, typer.Option("--retime/--no-retime", help="Default: accept writing a variable-"
                                                "frame-rate movie to a png/exr sequence at a constant rate.")] = None,
    actors: Annotated[list[str], typer.Option(help="Actors of a model stage: STAGE=N or STAGE=MIN-MAX "
                                                   "(stages: depth, content, diffusion). Repeatable.")] = [],  # noqa: B006
    gpus: Annotated[list[str], typer.Option(help="GPUs per actor of a stage, STAGE=G (0.5 shares a GPU). "
                                                 "Default: GPUs when the cluster has them.")] = [],  # noqa: B006
    retries: Annotated[int, typer.Option(min=0, help="Restarts of a crashed worker, and retries of its shot.")] = 2,
    device: Annotated[str | None, typer.Option(help="Force the model device: cpu or cuda.")] = None,
    max_batch: Annotated[int | None, typer.Option(min=1, help="Clips (window × guidance pass) per UNet call; "
                                                              "lower it if a GPU runs out of memory.")] = None,
    threshold: Annotated[float, typer.Option(help="Frame consistency below which a shot stands out in "
                                                  "index.html (the page can change it).")] = 0.9,
    wait_for_lock: Annotated[bool, typer.Option("--wait-for-lock", help="If another run is writing to the "
                                                "output, wait until it is done instead of stopping.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Edit every shot of a manifest and write {output}/{shot_id}/ (video, report.json),
    {output}/summary.json and {output}/results.parquet.

    Re-running the same command skips shots that already succeeded with the same parameters and
    model, so an interrupted job resumes where it stopped.
    """
    from gen1_batch.config import JobConfig
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.resume import RUN, plan_shots

    if force and only_failed:
        raise fail("--force and --only-failed exclude each other")
    try:
        ref = describe_model(model)
    except ModelNotFound as e:
        raise fail(str(e)) from None
    shots = _checked_shots(
        manifest, ref.settings, structure=structure, content_scale=content_scale, temporal_scale=temporal_scale,
        steps=steps, width=width, height=height, output_format=output_format, negative_prompt=negative_prompt,
        window=window, window_stride=window_stride, window_blend=window_blend, window_shift=window_shift,
        free_noise=free_noise, damaged_frames=damaged_frames, retime=retime)
    check_output(output)

    overrides: dict[str, dict[str, Any]] = {}
    for stage, (low, high) in _parse_stage_options(actors, "--actors", _actors).items():
        overrides.setdefault(stage, {}).update(min_actors=low, actors=high)
    for stage, amount in _parse_stage_options(gpus, "--gpus", float).items():
        overrides.setdefault(stage, {})["num_gpus"] = amount

    job = JobConfig(manifest=storage.absolute(manifest), output=storage.absolute(output), model=ref,
                    retries=retries, device=device, max_batch=max_batch)
    _refuse_source_collisions(shots, manifest, output)
    if not dry_run:
        _hold_output_lock(ctx, job.output, wait_for_lock)
    planned = plan_shots(shots, job, force=force, only_failed=only_failed)
    to_run = [p.shot for p in planned if p.action == RUN]
    if ref.random_weights:
        log.print(f"[yellow]note:[/] model {model!r} has random weights ({', '.join(ref.random_weights)}): "
                  "outputs show the pipeline works, they are not real edits.")
    if dry_run:
        _print_plan(planned, job, json_output)
        return

    started_at = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    reports: dict[str, dict[str, Any]] = {}
    interrupted = False
    log.print(f"{len(shots)} shot(s): {len(to_run)} to edit, {len(shots) - len(to_run)} skipped "
              f"(model {model}, output {job.output})")
    if to_run:
        reports, interrupted = _edit_shots(to_run, job, address, overrides)
    from gen1_batch.report.summary import write_index, write_summary

    finished = [(reports[p.shot.shot_id], True) if p.shot.shot_id in reports else (p.previous, False)
                for p in planned if p.shot.shot_id in reports or p.previous]
    not_run = [p.shot.shot_id for p in planned if p.shot.shot_id not in reports and not p.previous]
    summary = write_summary(job.output, job.manifest, ref.to_dict(), finished, started_at, time.monotonic() - t0,
                            not_run, interrupted)
    summary["index"] = write_index(job.output, [report for report, _ in finished], threshold)
    _print_summary(summary, not_run, json_output)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary["counts"]["failed"]:
        raise typer.Exit(1)


def _refuse_source_collisions(shots: list, manifest: str, output: str) -> None:
    """Exit 2 listing every source the job would overwrite or remove, before any work."""
    from gen1_batch.safety import job_collisions

    problems = job_collisions(shots, manifest, output)
    if problems:
        print_problems(f"--output {output}", problems)
        raise typer.Exit(2)


def _hold_output_lock(ctx: typer.Context, output: str, wait: bool) -> None:
    """Hold the output's lock until the command ends, however it ends; exit 2 if another run has it."""
    from gen1_batch.lock import LockHeld, OutputLock

    try:
        ctx.with_resource(OutputLock(output, wait=wait, say=lambda line: log.print(line, soft_wrap=True)))
    except LockHeld as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(f"--output {output}: cannot write its lock file: {e}") from None


def _edit_shots(shots: list, job: Any, address: str | None, overrides: dict[str, dict[str, Any]]
                ) -> tuple[dict, bool]:
    """Each finished shot's compact report by id, and whether a signal stopped the job before every shot ran."""
    import dataclasses

    import ray

    from gen1_batch.interrupt import StopNow, StopSignals
    from gen1_batch.pipeline import resolve_resources, run_shots, start_ray
    from gen1_batch.progress import JobProgress

    def say(name: str, first: bool) -> None:
        log.print(f"[yellow]interrupted ({name})[/]: " + (
            "no new shots start; the shots in flight finish, then the summary is written (Ctrl-C again: stop now)"
            if first else "stopping now; the shots in flight run next time"), soft_wrap=True)

    reports: dict = {}
    started = False
    with StopSignals(say) as signals:
        try:
            started = start_ray(address)
            signals.arm()  # ray.init installs its own SIGTERM handler
            try:
                job = dataclasses.replace(job, resources=resolve_resources(overrides))
            except TypeError as e:
                raise fail(f"bad stage resources: {e}") from None
            with JobProgress(len(shots), log) as progress:
                reports = run_shots(shots, job, progress.shot_finished, signals.requested)
        except StopNow:
            pass  # stopped before the dataflow started
        finally:
            if started:
                with contextlib.suppress(StopNow):
                    ray.shutdown()
    return reports, signals.requested.is_set() and len(reports) < len(shots)


def _print_plan(planned: list, job: Any, json_output: bool) -> None:
    from gen1_batch.media import output_name, probe, working_size
    from gen1_batch.model.windows import describe_plan
    from gen1_batch.stages.models import shot_window

    settings = job.model.settings

    def plan_row(p: Any) -> dict[str, Any]:
        shot = p.shot
        row: dict[str, Any] = {"shot_id": shot.shot_id, "action": p.action, "reason": p.reason,
                               "output": storage.join(job.output, shot.shot_id,
                                                      output_name(shot.shot_id, shot.output_format))}
        if p.action != "run":
            return row
        try:
            info = probe(shot.video)
        except Exception as e:
            return {**row, "problem": describe(e, shot.video)}
        frames = info["header_frames"]
        if frames is not None:
            start = shot.frame_start if shot.frame_start is not None else info["first_frame"]
            end = shot.frame_end if shot.frame_end is not None else info["first_frame"] + frames - 1
            frames = max(0, end - start + 1)
        size = working_size(info["width"], info["height"], shot.width, shot.height,
                            side=settings["default_resolution"], multiple=settings["resolution_multiple"])
        row.update(frames=frames, source=f"{info['width']}x{info['height']} @ {info['fps'] or shot.fps or 24}",
                   working=f"{size[0]}x{size[1]}", steps=shot.steps)
        if frames:
            row["windows"] = describe_plan(frames, shot_window(shot), shot.steps)
        return row

    with ThreadPoolExecutor(max_workers=16) as pool:
        rows = list(pool.map(plan_row, planned))
    if json_output:
        out.print_json(json.dumps({"model": job.model.to_dict(), "output": job.output, "shots": rows}))
        return
    table = Table(title=f"plan: {sum(r['action'] == 'run' for r in rows)} to edit, "
                        f"{sum(r['action'] != 'run' for r in rows)} skipped (model {job.model.spec})",
                  title_justify="left")
    for name in ("shot", "action", "why", "frames (header)", "source", "working", "windows/step", "output"):
        table.add_column(name)
    for r in rows:
        windows = r.get("windows", {}).get("windows_per_step", "")
        if isinstance(windows, list):
            windows = f"{min(windows)}-{max(windows)}" if min(windows) != max(windows) else str(windows[0])
        table.add_row(r["shot_id"], r["action"], escape(r.get("problem") or r["reason"]), str(r.get("frames", "")),
                      r.get("source", ""), r.get("working", ""), str(windows), escape(r["output"]))
    out.print(table)


def _print_summary(summary: dict[str, Any], not_run: list[str], json_output: bool) -> None:
    if json_output:
        out.print_json(json.dumps({**summary, "not_run": not_run}))
        return
    c = summary["counts"]
    colour = "red" if c["failed"] else "green"
    out.print(f"[{colour}]{c['succeeded']} succeeded, {c['failed']} failed[/] of {c['shots']} shot(s); "
              f"{c['ran']} edited now, {c['skipped']} from earlier runs; {summary['wall_seconds']:.1f} s. "
              f"Report: {summary['index']}", soft_wrap=True)
    for f in summary["failed"]:  # one line a shot, at any width: logs are grepped by shot id
        out.print(f"  [red]failed[/] {f['shot_id']} at {f['error_stage']}: {f['error_type']}: "
                  f"{escape(str(f['error_message']))}",
                  soft_wrap=True)
    for n in summary.get("notes", []):
        out.print(f"  [yellow]note[/] {n['shot_id']}: {n['note']}", soft_wrap=True)
    if summary.get("interrupted"):
        out.print(f"  [yellow]interrupted[/]: {len(not_run)} shot(s) not run; the same command runs them",
                  soft_wrap=True)
    elif not_run:
        out.print(f"  not run (--only-failed): {', '.join(not_run)}", soft_wrap=True)


def _columns_help() -> str:
    return "\n\n".join(f"[bold]{name}[/]{' (required)' if c.required else ''}: {c.help}" for name, c in COLUMNS.items())


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
    json_output: JsonOpt = False,
) -> None:
    """Submit `gen1 run` to a Ray cluster as a Ray job. Every option `gen1 run` takes (--model,
    --structure, --actors, …) may follow and is passed on. Submitting the same run again does not
    start it twice; after a failed attempt it starts the next, which resumes from the finished shots.
    """
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.model.settings import DEFAULT_SETTINGS
    from gen1_batch.pipeline import forwarded_env
    from gen1_batch.submit import entrypoint, runtime_env, submission_id
    from gen1_batch.submit import submit as submit_job

    passed = list(ctx.args)
    model = _option_value(passed, "--model") or "tiny"
    try:  # fail here, not an hour later on the cluster
        settings = describe_model(model).settings
    except ModelNotFound as e:
        if not (model.startswith("/") and not os.path.exists(model)):
            raise fail(str(e)) from None
        # A folder on the cluster's volume (/models/...): check here what does not depend on the
        # model; the job's `gen1 run` checks the rest (sizes, windows) before it starts.
        log.print(f"note: {model} is not on this machine; the cluster checks the model-specific columns",
                  soft_wrap=True)
        settings = {**DEFAULT_SETTINGS, "resolution_multiple": 1, "max_window": sys.maxsize}
    _checked_shots(manifest, settings)
    if check_output_here and storage.is_url(output) and not output.startswith("file://"):
        check_output(output)
    manifest_url, output_url = storage.absolute(manifest), storage.absolute(output)
    command = entrypoint([manifest_url, "--output", output_url, *passed])
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


def _option_value(args: list[str], name: str) -> str | None:
    """The value of `name` among passed-on arguments, given as `name VALUE` or `name=VALUE`."""
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


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


@app.command(help="Check a manifest and list every problem (row, column, reason) in one pass.\n\n"
                  "Columns:\n\n" + _columns_help())
def validate(
    manifest: ManifestArg,
    check_files: Annotated[bool, typer.Option(help="Also check that every video and image prompt exists.")] = True,
    json_output: JsonOpt = False,
) -> None:
    try:
        shots = load_manifest(manifest)
        problems = missing_files(shots) if check_files else []
    except ManifestError as e:
        shots, problems = [], e.problems
    if json_output:
        out.print_json(json.dumps({"manifest": manifest, "shots": len(shots),
                                   "problems": [p.__dict__ for p in problems]}))
    elif problems:
        print_problems(manifest, problems)
    else:
        out.print(f"[green]ok[/]: {escape(manifest)}: {len(shots)} shot(s)", soft_wrap=True)
    if problems:
        raise typer.Exit(2)


@app.command()
def report(
    output: Annotated[str, typer.Argument(help="A job's output folder or URL.")],
    failed: Annotated[bool, typer.Option("--failed", help="Only failed shots, with their errors.")] = False,
    threshold: Annotated[float, typer.Option(help="Frame consistency below which a shot is an outlier.")] = 0.9,
    stages: Annotated[bool, typer.Option("--stages", help="Seconds of every stage, not only the total.")] = False,
    html: Annotated[bool, typer.Option("--html", help="Also (re)write {output}/index.html.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Per-shot status, metrics, timings and errors of a job, read from its shots' reports (the same
    as index.html, in the terminal)."""
    from gen1_batch.report.summary import collect_reports, result_row, write_index
    from gen1_batch.stages.spec import STAGES

    try:
        reports, unreadable = collect_reports(output)
    except (FileNotFoundError, storage.StorageError) as e:
        raise fail(str(e)) from None
    for problem in unreadable:  # named and left out; the other shots are listed
        log.print(f"[yellow]skipped[/] {escape(problem)}", soft_wrap=True)
    if html:
        log.print(f"wrote {write_index(output, reports, threshold)}")
    rows = [result_row(r, ran=True) for r in reports]
    for r in rows:
        r.pop("ran")
        consistency = r["frame_consistency"]
        r["outlier"] = r["status"] == "succeeded" and isinstance(consistency, (int, float)) and consistency < threshold
    if failed:
        rows = [r for r in rows if r["status"] != "succeeded"]
    if json_output:
        out.print_json(json.dumps(rows))
        return
    succeeded = sum(r["status"] == "succeeded" for r in rows)
    outliers = sum(r["outlier"] for r in rows)
    table = Table(title=f"{escape(output)}: {succeeded} succeeded, {len(rows) - succeeded} failed, {outliers} below "
                        f"frame consistency {threshold}", title_justify="left")
    table.add_column("shot", no_wrap=True)
    table.add_column("status")
    metric_columns = {"frame_consistency": "frame cons.", "prompt_consistency": "prompt cons.",
                      "structure_error": "struct. err."}
    timing = [f"seconds_{s}" for s in STAGES] if stages else []
    for name in ("frames", "fps", *metric_columns.values(), *(c.removeprefix("seconds_") for c in timing), "s"):
        table.add_column(name, justify="right")

    def number(value: Any, digits: int = 3) -> str:
        return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"

    for r in rows:
        status = (f"[red]{escape(str(r['error_stage']))}[/]" if r["status"] != "succeeded"
                  else "[yellow]outlier[/]" if r["outlier"] else "[green]ok[/]")
        prompt = r["prompt_consistency"] if r["prompt_consistency"] is not None else r["reference_consistency"]
        table.add_row(r["shot_id"], status, escape(str(r["frames"] or "")), escape(str(r["fps"] or "")),
                      number(r["frame_consistency"]), number(prompt), number(r["structure_error"]),
                      *[number(r[c]) for c in timing], number(r["seconds_total"] or 0, 1))
    out.print(table)
    for r in rows:
        if r["status"] != "succeeded":
            out.print(f"[red]{r['shot_id']}[/] failed at {r['error_stage']}: {r['error_type']}: "
                      f"{escape(str(r['error_message']))}", soft_wrap=True)
    if not rows and not failed:
        log.print(f"no shot reports under {output}")


@models_app.command("list")
def models_list(json_output: JsonOpt = False) -> None:
    """Presets, their components and licences, and whether their weights are here."""
    from gen1_batch.model.presets import PRESETS, preset_weights_present

    rows = [{"name": p.name, "description": p.description, "components": p.components,
             "licences": list(p.licences), "weights": preset_weights_present(p)} for p in PRESETS.values()]
    if json_output:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="model presets (--model NAME); a model folder or hub id works too", title_justify="left")
    for name in ("preset", "description", "components", "licences", "weights"):
        table.add_column(name)
    for r in rows:
        table.add_row(r["name"], r["description"], "\n".join(f"{k}: {v}" for k, v in r["components"].items()),
                      "\n".join(r["licences"]) or "-", r["weights"])
    out.print(table)


@models_app.command("download")
def models_download(
    preset: Annotated[str, typer.Argument(help="Preset name (see `gen1 models list`).")],
    target: Annotated[str, typer.Argument(help="Folder or fsspec URL to write the model folder to.")],
) -> None:
    """Fetch (or build) everything a preset needs into one model folder; then `--model TARGET`
    uses it on machines without internet."""
    from gen1_batch.errors import network_cause
    from gen1_batch.model.presets import PRESETS, HubUnreachable, save_preset

    if preset not in PRESETS:
        raise fail(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    try:
        save_preset(PRESETS[preset], target)
    except FileExistsError as e:
        raise fail(str(e)) from None
    except HubUnreachable as e:
        raise fail(str(e), 1) from None
    except Exception as e:
        if network_cause(e) is None:
            raise
        raise fail(f"the Hugging Face hub could not be reached while downloading {preset} ({describe(e)}); "
                   f"nothing was written to {target}, and what was fetched stays in the hub cache for the next "
                   "try", 1) from None
    out.print(f"[green]saved[/] {escape(preset)} to {escape(target)}; use it with --model {escape(target)}",
              soft_wrap=True)


@app.command()
def edit(
    video: Annotated[str, typer.Argument(help="Source movie or image sequence (plate.####.exr), path or URL.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output: a .mp4 (H.264), a .mov (ProRes 422 HQ) or "
                                                               "a sequence pattern (out.####.png, out.####.exr).")],
    prompt: Annotated[str | None, typer.Option(help="Text prompt.")] = None,
    image_prompt: Annotated[str | None, typer.Option(help="Reference image (path or URL).")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="Negative prompt.")] = None,
    structure: Annotated[int, typer.Option(min=0, max=7, help="t_s (0-7).")] = JobDefaults.structure,
    content_scale: Annotated[float, typer.Option(min=0, help="ω.")] = JobDefaults.content_scale,
    temporal_scale: Annotated[float, typer.Option(min=0, help="ω_t.")] = JobDefaults.temporal_scale,
    steps: Annotated[int | None, typer.Option(min=1, help="Steps (default: the model's).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Noise seed.")] = 0,
    frame_start: Annotated[int | None, typer.Option(min=0, help="First frame (inclusive).")] = None,
    frame_end: Annotated[int | None, typer.Option(min=0, help="Last frame (inclusive).")] = None,
    fps: Annotated[str | None, typer.Option(help="Frame rate of a sequence source (24, 24000/1001).")] = None,
    timecode: Annotated[str | None, typer.Option(help="Timecode of the first frame, if the source has none.")] = None,
    width: Annotated[int | None, typer.Option(help="Working width.")] = None,
    height: Annotated[int | None, typer.Option(help="Working height.")] = None,
    window: Annotated[int | None, typer.Option(min=1, help="Frames per window (default: the model's).")] = None,
    window_stride: Annotated[int | None, typer.Option(min=1, help="Window stride (default: half).")] = None,
    window_blend: Annotated[str, typer.Option(help="pyramid, flat or gaussian.")] = "pyramid",
    window_shift: Annotated[bool, typer.Option("--window-shift/--no-window-shift",
                                               help="Move window boundaries each step.")] = True,
    free_noise: Annotated[bool, typer.Option("--free-noise/--no-free-noise", help="FreeNoise noise.")] = False,
    damaged_frames: Annotated[str, typer.Option(help="A frame that cannot be decoded: fail, nearest (good frame) "
                                                     "or black.")] = JobDefaults.damaged_frames,
    retime: Annotated[bool, typer.Option("--retime", help="Accept writing a variable-frame-rate movie to a sequence "
                                                          "at a constant rate.")] = JobDefaults.retime,
    model: ModelOpt = "tiny",
    device: Annotated[str | None, typer.Option(help="cpu or cuda.")] = None,
) -> None:
    """Edit one video, without Ray: the same model code as `gen1 run` uses for each shot."""
    from gen1_batch.media import MediaError, check_timing, read_image, read_video, write_movie, write_sequence
    from gen1_batch.media.damage import DAMAGED_FRAME_MODES
    from gen1_batch.media.sequence import frames_on_disk, is_sequence, parse
    from gen1_batch.media.timecode import parse_rate
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.report.schema import media_notes
    from gen1_batch.safety import edit_collisions

    if prompt is None and image_prompt is None:
        raise fail("give --prompt, --image-prompt or both")
    overwritten = edit_collisions([s for s in (video, image_prompt) if s], output)
    if overwritten:
        raise fail(f"--output {output} would overwrite its source {overwritten[0]}")
    if damaged_frames not in DAMAGED_FRAME_MODES:
        raise fail(f"--damaged-frames must be one of {', '.join(DAMAGED_FRAME_MODES)}, got {damaged_frames!r}")
    suffix = output.rsplit(".", 1)[-1].lower()
    formats = {"png": "png", "exr": "exr"} if is_sequence(output) else {"mp4": "mp4", "mov": "prores"}
    output_format = formats.get(suffix)
    if output_format is None:
        raise fail(f"--output {output}: use a .mp4, a .mov or a .png / .exr sequence pattern such as out.####.exr")
    scales = JobDefaults().replace(content_scale=content_scale, temporal_scale=temporal_scale).problems()
    if scales:  # the manifest's rules (finite numbers)
        raise fail(f"--{scales[0].column.replace('_', '-')}: {scales[0].reason.removeprefix('job default: ')}")
    check_output(output, folder=False)
    try:  # the inputs before the model: a bad source is said at once
        settings = describe_model(model).settings
        frames, info = read_video(video, frame_start, frame_end, size=(width, height),
                                  side=settings["default_resolution"], multiple=settings["resolution_multiple"],
                                  fps=parse_rate(fps) if fps else None, timecode=timecode,
                                  damaged_frames=damaged_frames)
        check_timing(info, output_format, retime)
        reference = read_image(image_prompt) if image_prompt else None
        from gen1_batch.api import cached_pipeline  # torch: seconds to import, so after the checks
        from gen1_batch.api import edit as edit_frames

        pipe = cached_pipeline(model, device)
        windows = pipe.window_spec(window, window_stride, window_blend, window_shift, free_noise)
    except (MediaError, ModelNotFound) as e:
        raise fail(str(e), 1) from None
    except ValueError as e:
        raise fail(str(e)) from None
    t0 = time.monotonic()
    with log.status(f"editing {info.frames} frames at {frames.shape[2]}x{frames.shape[1]}"):
        edited = edit_frames(frames, prompt, reference, negative_prompt=negative_prompt, structure=structure,
                             content_scale=content_scale, temporal_scale=temporal_scale, steps=steps, seed=seed,
                             window=windows, model=model, device=device)
    if output_format in ("png", "exr"):
        target = parse(storage.absolute(output))
        result = write_sequence(edited, target, info, output_format)
        others = sorted(set(frames_on_disk(target)) - set(range(result["frame_start"], result["frame_end"] + 1)))
        if others:  # not provably this command's: never removed
            log.print(f"note: {target.pattern()} also has frames {others[0]}-{others[-1]} that this edit did "
                      "not write; they are left as they are", soft_wrap=True)
    else:
        result = write_movie(edited, storage.absolute(output), info, output_format)
    out.print(f"[green]wrote[/] {result['url']}: {result['frames']} frames at {result['fps']} fps, "
              f"{result['width']}x{result['height']} in {time.monotonic() - t0:.1f} s")
    for note in media_notes(damaged_frames, info.to_dict(), result):
        out.print(f"  [yellow]note[/]: {note}", soft_wrap=True)


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    if version:
        out.print(f"gen1-batch {__version__}")
        raise typer.Exit()


if __name__ == "__main__":
    sys.exit(app())
