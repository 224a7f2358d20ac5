"""`gen1 manifest from-timeline`: a manifest with one shot per clip of an edit (.otio, .edl, .xml)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from gen1_batch import storage
from gen1_batch.cli.common import OneLineSummaries, fail, log, out
from gen1_batch.cli.options import column_options

app = typer.Typer(cls=OneLineSummaries, help="Manifests made from other things: a timeline's clips.",
                  no_args_is_help=True)


@app.command("from-timeline")
@column_options(("prompt", "image_prompt"), "For every shot: ")
def from_timeline(
    timeline: Annotated[str, typer.Argument(help="The edit: .otio, CMX 3600 .edl, Final Cut Pro .xml or .fcpxml; "
                                                 "a path or fsspec URL.")],
    output: Annotated[str, typer.Option("--output", "-o", help="The manifest to write (.jsonl).")] = "manifest.jsonl",
    handles: Annotated[int, typer.Option(min=0, help="Frames edited before and after each clip's source range "
                                                     "(as far as its media goes), for the editor to trim.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace the manifest if it exists.")] = False,
    columns: dict[str, Any] | None = None,
) -> None:
    """Write a manifest with one shot per video clip of TIMELINE: its media (relative paths are the
    timeline's), its source range with --handles as frame_start/frame_end, the timecode of its first
    frame, a shot id from the clip's name, and the clip as `timeline` (TIMELINE#N). `gen1 run` on it
    also writes edited.otio, the timeline with each clip pointing at its edit."""
    from gen1_batch.editorial import TimelineError, read_timeline, timeline_rows
    from gen1_batch.manifest import check_row

    content = {name: value for name, value in (columns or {}).items() if value}
    if not content:
        raise fail("give --prompt, --image-prompt or both: every shot needs one (edit the manifest after for "
                   "prompts of their own)")
    if "image_prompt" in content:
        content["image_prompt"] = storage.absolute(content["image_prompt"])
    if not output.lower().endswith(".jsonl"):
        raise fail(f"--output {output}: from-timeline writes JSONL; name it .jsonl")
    target = storage.absolute(output)
    if storage.exists(target) and not force:
        raise fail(f"--output {output}: exists; --force replaces it")
    url = storage.absolute(timeline)
    try:
        rows, problems, notes = timeline_rows(read_timeline(url), url, handles, content)
    except TimelineError as e:
        raise fail(str(e)) from None
    for number, row in enumerate(rows, start=1):  # the manifest's own rules, before anything is written
        problems += [f"clip {row['timeline'].rpartition('#')[2]} ({row['shot_id']}): {p.column}: {p.reason}"
                     for p in check_row(number, row)[1]]
    for note in notes:
        log.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    if problems:
        log.print(f"[red]{escape(url)}: {len(problems)} problem(s)[/]", soft_wrap=True)
        for problem in problems:
            log.print(f"  {escape(problem)}", soft_wrap=True)
        raise typer.Exit(2)
    storage.write_bytes_atomic(target, "".join(json.dumps(row) + "\n" for row in rows).encode())
    out.print(f"[green]wrote[/] {escape(target)}: {len(rows)} shot(s) from {escape(url)} (handles {handles})",
              soft_wrap=True)
