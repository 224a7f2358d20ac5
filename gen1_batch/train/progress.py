"""Training progress: a live bar on a terminal (step, loss, samples/s, ETA), plain lines otherwise."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, console: Console, total: int, start: int):
        self.console, self.total, self.start = console, total, start
        self.every = max(1, total // 50)  # plain lines: about 50 per run, plus every event
        self.seconds: list[float] = []
        self.live = console.is_terminal
        self._progress = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("loss {task.fields[loss]}  {task.fields[rate]} samples/s"),
                                  TimeElapsedColumn(), TimeRemainingColumn(), console=console)
        self._task = self._progress.add_task("steps", total=total, completed=start, loss="-", rate="-")
        if self.live:
            self._progress.start()

    def record(self, r: dict[str, Any]) -> None:
        event = r.get("event")
        if event is None:
            self._step(r)
        elif event == "start" and r["step"]:
            self._say(f"workers ({r['world']}) started from the checkpoint at step {r['step']}")
        elif event == "start":
            self._say(f"workers ({r['world']}) started: training {', '.join(r['trains'])} "
                      f"({r['parameters']:,} parameters)")
        elif event == "checkpoint":
            self._say(f"checkpoint at step {r['step']}")
        elif event == "validation":
            scores = ", ".join(f"{k} {v:.4f}" for k, v in r.items() if k not in ("event", "step", "time"))
            self._say(f"validation at step {r['step']}: {scores}")
        elif event == "skipped":
            self._say(f"skipped a sample at step {r['step']}: {r['error']}")

    def _step(self, r: dict[str, Any]) -> None:
        step = r["step"]
        self.seconds = [*self.seconds[-19:], r["seconds"]]
        per_step = sum(self.seconds) / len(self.seconds)
        rate = r["samples"] / r["seconds"] if r["seconds"] else 0.0
        eta = per_step * (self.total - step)
        if self.live:
            self._progress.update(self._task, completed=step, loss=f"{r['loss']:.4f}", rate=f"{rate:.1f}")
        elif step % self.every == 0 or step == self.total:
            self.console.print(f"step {step}/{self.total} loss {r['loss']:.4f} {rate:.1f} samples/s "
                               f"{r['seconds']:.2f} s/step eta {eta:.0f} s", highlight=False)

    def _say(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def close(self) -> None:
        if self.live:
            self._progress.stop()
