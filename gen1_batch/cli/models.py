"""`gen1 models list` and `gen1 models download`: presets and model folders."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gen1_batch.cli.common import JsonOpt, OneLineSummaries, fail, out
from gen1_batch.errors import describe

app = typer.Typer(cls=OneLineSummaries, help="Model presets and model folders.", no_args_is_help=True)

@app.command("list")
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


@app.command("download")
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

