"""Command options made from the shot schema: one option per column, its type, choices and help the
column's own, so `gen1 run`, `gen1 submit` and `gen1 edit` take the same values a manifest row does."""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from gen1_batch import shot as schema

_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "Fraction": str}


@functools.cache
def _choice(name: str) -> type[enum.Enum]:
    values = schema.choices(name)
    return enum.Enum(name.title().replace("_", ""), {v: v for v in values}, type=str)  # type: ignore[return-value]


def column_option(name: str, help_prefix: str = "") -> Any:
    """The Typer annotation of column `name` as an option (a --flag/--no-flag for a bool)."""
    flag = "--" + name.replace("_", "-")
    value_type: Any = _choice(name) if schema.choices(name) else _TYPES[schema.kind(name)]
    declarations = [f"{flag}/--no-{flag[2:]}"] if value_type is bool else [flag]
    return Annotated[value_type | None, typer.Option(*declarations, help=help_prefix + schema.help_text(name),
                                                     show_default=False)]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def column_options(names: Iterable[str], help_prefix: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command one option per column in `names` (default: not given); the command receives
    their values as `columns`, a dict with None for the options not given."""
    names = tuple(names)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)  # Typer reads a __signature__ as it is
        own = [p for p in signature.parameters.values() if p.name != "columns"]
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                   annotation=column_option(name, help_prefix)) for name in names]

        @functools.wraps(command)
        def with_columns(*args: Any, **kwargs: Any) -> Any:
            columns = {name: _plain(kwargs.pop(name)) for name in names}
            return command(*args, columns=columns, **kwargs)

        with_columns.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
        return with_columns

    return decorate


def column_args(columns: dict[str, Any]) -> list[str]:
    """The options that give `columns` again (those not None), for a command run elsewhere."""
    args: list[str] = []
    for name, value in columns.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else f"--no-{flag[2:]}")
        elif value is not None:
            args += [flag, str(_plain(value))]
    return args
