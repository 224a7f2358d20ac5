"""Ctrl-C and SIGTERM (what schedulers send) while a job runs.

The first asks the job to stop: no new shot starts, the shots in flight finish and commit, and
the summary covers what is done. The second stops at once: the shots in flight are abandoned
(nothing partial reaches a final path: every file is committed by a rename) and run next time.
Either way the job exits 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopNow(KeyboardInterrupt):
    """The second signal: leave now. A KeyboardInterrupt, so nothing that handles errors keeps it."""


class StopSignals:
    """While entered (in the main thread), SIGINT and SIGTERM set `requested` the first time and
    raise StopNow after. `on_signal(name, first)` says what happens, in one line."""

    def __init__(self, on_signal: Callable[[str, bool], None]):
        self.requested = threading.Event()
        self._on_signal = on_signal
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self.arm()
        return self

    def arm(self) -> None:
        """Install the handlers (again: `ray.init` installs its own for SIGTERM)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach only the main thread; a job run from another thread keeps Python's defaults
        for sig in SIGNALS:
            previous = signal.signal(sig, self._handle)
            if previous != self._handle and sig not in self._previous:
                self._previous[sig] = previous

    def __exit__(self, *exc: Any) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = not self.requested.is_set()
        self.requested.set()
        self._on_signal(name, first)
        if not first:
            raise StopNow(name)
