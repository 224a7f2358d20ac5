"""`gen1 run` and `gen1 validate`: a manifest's shots, checked, planned and edited on Ray."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gen1_batch import storage
from gen1_batch.cli.common import (
    JsonOpt,
    ManifestArg,
    ModelOpt,
    OcioOpt,
    ThresholdOpt,
    check_output,
    fail,
    log,
    out,
    print_problems,
)
from gen1_batch.cli.options import column_options
from gen1_batch.interrupt import EXIT_INTERRUPTED
from gen1_batch.manifest import ManifestError, load_manifest, missing_files
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.report.rules import DEFAULT_THRESHOLD
from gen1_batch.shot import COLUMNS, JOB_WIDE, REQUIRED, help_text

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)

JOB_WIDE_HELP = "For every shot whose row leaves it empty: "


def checked_shots(manifest: str, settings: dict[str, Any], ocio: str | None = None, **flags: Any) -> list:
    """The manifest's shots, with defaults from the model's settings and job-wide flags, colour names
    checked against the OCIO config `ocio`; on problems, list every one and exit 2."""
    try:
        return load_manifest(manifest, settings, ocio, **flags)
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


@app.command()
@column_options(JOB_WIDE, JOB_WIDE_HELP)
def run(
    ctx: typer.Context,
    manifest: ManifestArg,
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder or URL; each shot gets a subfolder.")],
    model: ModelOpt = DEFAULT_MODEL,
    ocio: OcioOpt = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (auto, ray://HEAD:10001). Default: "
                                                     "start Ray in this process on this machine.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo every shot, finished ones too.")] = False,
    only_failed: Annotated[bool, typer.Option("--only-failed", help="Redo only shots whose last report says "
                                                                    "failed; leave all others as they are.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (shots, frames, outputs, skips) "
                                                            "without loading any model.")] = False,
    actors: Annotated[list[str], typer.Option(help="Actors of a model stage: STAGE=N or STAGE=MIN-MAX "
                                                   "(stages: depth, content, diffusion). Repeatable.")] = [],  # noqa: B006
    gpus: Annotated[list[str], typer.Option(help="GPUs per actor of a stage, STAGE=G (0.5 shares a GPU). "
                                                 "Default: GPUs when the cluster has them.")] = [],  # noqa: B006
    retries: Annotated[int, typer.Option(min=0, help="Restarts of a crashed worker, and retries of its shot.")] = 2,
    device: Annotated[str | None, typer.Option(help="Force the model device: cpu or cuda.")] = None,
    max_batch: Annotated[int | None, typer.Option(min=1, help="Video clips (window × guidance pass) per UNet "
                                                              "call, and that many windows' frames per image-pass "
                                                              "call; lower it if a GPU runs out of memory. Default: "
                                                              "the model's.")] = None,
    compile_unet: Annotated[bool, typer.Option("--compile", help="torch.compile the UNet (channels-last on a GPU): "
                                                "faster steps after a compile of minutes per actor; worth it "
                                                "for long jobs on GPUs.")] = False,
    threshold: ThresholdOpt = DEFAULT_THRESHOLD,
    wait_for_lock: Annotated[bool, typer.Option("--wait-for-lock", help="If another run is writing to the "
                                                "output, wait until it is done instead of stopping.")] = False,
    json_output: JsonOpt = False,
    columns: dict[str, Any] | None = None,
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
    shots = checked_shots(manifest, ref.settings, ocio, **(columns or {}))
    check_output(output)

    overrides: dict[str, dict[str, Any]] = {}
    for stage, (low, high) in _parse_stage_options(actors, "--actors", _actors).items():
        overrides.setdefault(stage, {}).update(min_actors=low, actors=high)
    for stage, amount in _parse_stage_options(gpus, "--gpus", float).items():
        overrides.setdefault(stage, {})["num_gpus"] = amount

    job = JobConfig(manifest=storage.absolute(manifest), output=storage.absolute(output), model=ref,
                    retries=retries, device=device, max_batch=max_batch, compile=compile_unet,
                    ocio=_config_source(ocio))
    _refuse_source_collisions(shots, manifest, output)
    _check_timeline(shots)
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

    started_at = dt.datetime.now(dt.UTC)
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
    _write_edited_timeline(shots, job.output)
    _print_summary(summary, not_run, json_output)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary["counts"]["failed"]:
        raise typer.Exit(1)


def _config_source(ocio: str | None) -> str:
    """The OCIO config as the workers must load it: a local file as an absolute path."""
    from gen1_batch.media.colour import config_source

    source = config_source(ocio)
    return source if source.startswith("ocio://") else storage.absolute(source)


def _refuse_source_collisions(shots: list, manifest: str, output: str) -> None:
    """Exit 2 listing every source the job would overwrite or remove, before any work."""
    from gen1_batch.safety import job_collisions

    problems = job_collisions(shots, manifest, output)
    if problems:
        print_problems(f"--output {output}", problems)
        raise typer.Exit(2)


def _check_timeline(shots: list) -> None:
    """Exit 2 when the timeline the shots come from cannot be read back: before any work."""
    from gen1_batch.editorial import check_job_timeline

    problem = check_job_timeline(shots)
    if problem:
        raise fail(problem)


def _write_edited_timeline(shots: list, output: str) -> None:
    """{output}/edited.otio (the shots' timeline, or the shots in manifest order, on their edits); a
    failure to write it costs no shot's work."""
    from gen1_batch.editorial import write_job_edited_timeline
    from gen1_batch.errors import describe

    try:
        written = write_job_edited_timeline(shots, output)
    except Exception as e:  # the edits stand; the next run writes it again
        log.print(f"[yellow]edited timeline not written[/]: {escape(describe(e))}", soft_wrap=True)
        return
    log.print(f"edited timeline: {escape(written[0])} ({written[1]} clip(s) play their edit)", soft_wrap=True)


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
    from gen1_batch.resume import plan_rows

    rows = plan_rows(planned, job)
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
    return "\n\n".join(f"[bold]{name}[/]{' (required)' if name in REQUIRED else ''}: {help_text(name)}"
                       for name in COLUMNS)


@app.command(help="Check a manifest and list every problem (row, column, reason) in one pass.\n\n"
                  "Columns:\n\n" + _columns_help())
@column_options(JOB_WIDE, JOB_WIDE_HELP)
def validate(
    manifest: ManifestArg,
    model: Annotated[str, typer.Option(help="Check what this model needs too (working-size multiple, longest "
                                            "window, its default steps and window): the one `gen1 run` will use."
                                       )] = DEFAULT_MODEL,
    check_files: Annotated[bool, typer.Option(help="Also check that every video and image prompt exists.")] = True,
    ocio: OcioOpt = None,
    json_output: JsonOpt = False,
    columns: dict[str, Any] | None = None,
) -> None:
    from gen1_batch.model.loading import ModelNotFound, describe_model

    try:
        settings = describe_model(model).settings
    except ModelNotFound as e:
        raise fail(str(e)) from None
    try:
        shots = load_manifest(manifest, settings, ocio, **(columns or {}))
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

