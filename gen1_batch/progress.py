"""Job progress: a live display on a terminal, one plain log line per shot otherwise."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gen1_batch.report.schema import SUCCEEDED
from gen1_batch.stages.spec import STAGES


class JobProgress:
    def __init__(self, total: int, console: Console):
        self.total = total
        self.console = console
        self.live_display = console.is_terminal
        self.done = self.failed = 0
        self.stage_seconds: dict[str, float] = defaultdict(float)
        self.stage_shots: dict[str, int] = defaultdict(int)
        self.start = time.monotonic()
        self._progress = Progress(TextColumn("[bold]editing"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("[green]{task.fields[succeeded]} succeeded[/] "
                                             "[red]{task.fields[failed]} failed[/]"),
                                  TimeElapsedColumn(), TimeRemainingColumn(), console=console)
        self._task = self._progress.add_task("shots", total=total, succeeded=0, failed=0)
        self._live: Live | None = None

    def __enter__(self) -> JobProgress:
        if self.live_display:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self.console.print(f"editing {self.total} shot(s)")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def _stage_table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
        table.add_column("stage")
        table.add_column("shots", justify="right")
        table.add_column("s/shot", justify="right")
        table.add_column("shots/min (one worker)", justify="right")
        for stage in STAGES:
            n, seconds = self.stage_shots[stage], self.stage_seconds[stage]
            per_shot = seconds / n if n else 0.0
            table.add_row(stage, str(n), f"{per_shot:.2f}" if n else "-",
                          f"{60 / per_shot:.1f}" if per_shot else "-")
        return table

    def _render(self) -> Group:
        return Group(self._progress, self._stage_table())

    def shot_finished(self, report: dict[str, Any]) -> None:
        ok = report["status"] == SUCCEEDED
        self.done += 1
        self.failed += not ok
        seconds = report.get("seconds") or {}
        for stage in STAGES:
            if seconds.get(stage):
                self.stage_seconds[stage] += seconds[stage]
                self.stage_shots[stage] += 1
        self._progress.update(self._task, advance=1, succeeded=self.done - self.failed, failed=self.failed)
        # A shot that succeeded with replaced frames or a variable frame rate says so (report notes).
        notes = [f"  note {report['shot_id']}: {note}" for note in report.get("notes") or []]
        if self._live:
            self._live.update(self._render())
            if not ok:
                self._live.console.print(f"[red]failed[/] {report['shot_id']}: {_error_line(report)}")
            for line in notes:
                self._live.console.print(f"[yellow]{escape(line)}[/]", soft_wrap=True)
            return
        detail = ", ".join(f"{s} {seconds[s]:.2f}" for s in STAGES if seconds.get(s))
        status = "succeeded" if ok else f"FAILED {_error_line(report)}"
        timing = f" ({seconds.get('total', 0):.2f} s: {detail})" if detail else ""
        self.console.print(f"[{self.done}/{self.total}] {report['shot_id']} {status}{timing}", highlight=False,
                           soft_wrap=True)
        for line in notes:
            self.console.print(line, highlight=False, soft_wrap=True, markup=False)


def _error_line(report: dict[str, Any]) -> str:
    e = report.get("error") or {}
    return f"at {e.get('stage')}: {e.get('type')}: {e.get('message')}"
