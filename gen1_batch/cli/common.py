"""What every command shares: the consoles, one-line failures, and the options several commands take."""

from __future__ import annotations

import inspect
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

from gen1_batch import storage
from gen1_batch.errors import describe
from gen1_batch.manifest import Problem

out = Console(highlight=False)  # results: tables, JSON
log = Console(stderr=True, highlight=False)  # progress and messages


class OneLineSummaries(TyperGroup):
    """A command group whose list of commands gives each one's summary as one wrapped paragraph."""

    def get_command(self, ctx: Any, name: str) -> Any:
        command = super().get_command(ctx, name)
        if command is not None and command.short_help is None and command.help:
            # Typer's rich mode keeps a docstring's line breaks in the list of commands: there each
            # command's first paragraph is one sentence, wrapped to the terminal.
            command.short_help = " ".join(inspect.cleandoc(command.help).split("\n\n")[0].split())
        return command


class OneLineErrors(OneLineSummaries):
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


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say `message` on one line (at any width, brackets as they are) and exit with `code`."""
    log.print(f"[red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True)  # paths are long
    return typer.Exit(code)


def check_output(output: str, folder: bool = True) -> None:
    """Exit 2 with one line when nothing can be written at `output`: before any work, not after it."""
    problem = storage.output_problem(storage.absolute(output), folder)
    if problem:
        raise fail(f"--output {output}: {problem}")


def print_problems(url: str, problems: list[Problem]) -> None:
    """One line per problem, whole at any terminal width (paths are long) and easy to grep."""
    log.print(f"[red]{escape(url)}: {len(problems)} problem(s)[/]", soft_wrap=True)
    for p in problems:
        log.print(f"  {escape(str(p))}", soft_wrap=True)


ManifestArg = Annotated[str, typer.Argument(help="Manifest: .jsonl, .csv or .parquet; a path or fsspec URL. "
                                                 "Columns: see `gen1 validate --help` or the README.")]
OcioOpt = Annotated[str | None, typer.Option(
    "--ocio", help="OpenColorIO config: a path, URL or ocio:// name. Default: $OCIO, else OCIO's built-in ACES studio "
                   "config (ocio://studio-config-latest). Colourspace and view names are checked against it.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ModelOpt = Annotated[str, typer.Option(help="A preset (see `gen1 models list`), a model folder, an fsspec URL "
                                            "or a hub id (org/name, or org/name@revision).")]
ThresholdOpt = Annotated[float, typer.Option(help="Frame consistency below which a succeeded shot is an outlier: it "
                                                 "stands out in the terminal and index.html (the page can change it).")]
