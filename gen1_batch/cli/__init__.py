"""The `gen1` command line, one module per command group. Exit codes: 0 every shot succeeded, 1 the
job finished with failed shots, 2 usage or manifest errors, 130 interrupted (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gen1_batch import __version__
from gen1_batch.cli import cluster, edit, manifest, models, report, run, train
from gen1_batch.cli.common import OneLineErrors, out

app = typer.Typer(
    cls=OneLineErrors,
    help="Structure- and content-guided video editing (Gen-1) for manifests of shots, on Ray.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(run.app)
app.add_typer(cluster.app)
app.add_typer(report.app)
app.add_typer(models.app, name="models")
app.add_typer(manifest.app, name="manifest")
app.add_typer(edit.app)
app.add_typer(train.app)


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    if version:
        out.print(f"gen1-batch {__version__}")
        raise typer.Exit()


if __name__ == "__main__":
    sys.exit(app())
