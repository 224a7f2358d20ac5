"""`gen1 report`: a job's shots in the terminal, from their reports."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gen1_batch import storage
from gen1_batch.cli.common import JsonOpt, ThresholdOpt, fail, log, out
from gen1_batch.report.rules import DEFAULT_THRESHOLD, OUTLIER_METRIC, is_outlier, prompt_score
from gen1_batch.report.schema import SUCCEEDED

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)

@app.command()
def report(
    output: Annotated[str, typer.Argument(help="A job's output folder or URL.")],
    failed: Annotated[bool, typer.Option("--failed", help="Only failed shots, with their errors.")] = False,
    threshold: ThresholdOpt = DEFAULT_THRESHOLD,
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
        r["outlier"] = is_outlier(r["status"], r[OUTLIER_METRIC], threshold)
    if failed:
        rows = [r for r in rows if r["status"] != SUCCEEDED]
    if json_output:
        out.print_json(json.dumps(rows))
        return
    succeeded = sum(r["status"] == SUCCEEDED for r in rows)
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
        status = (f"[red]{escape(str(r['error_stage']))}[/]" if r["status"] != SUCCEEDED
                  else "[yellow]outlier[/]" if r["outlier"] else "[green]succeeded[/]")
        prompt = prompt_score(r)
        table.add_row(r["shot_id"], status, escape(str(r["frames"] or "")), escape(str(r["fps"] or "")),
                      number(r["frame_consistency"]), number(prompt), number(r["structure_error"]),
                      *[number(r[c]) for c in timing], number(r["seconds_total"] or 0, 1))
    out.print(table)
    for r in rows:
        if r["status"] != SUCCEEDED:
            out.print(f"[red]{r['shot_id']}[/] failed at {r['error_stage']}: {r['error_type']}: "
                      f"{escape(str(r['error_message']))}", soft_wrap=True)
    if not rows and not failed:
        log.print(f"no shot reports under {output}")

