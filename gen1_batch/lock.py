"""One run at a time on an output: a lease, {output}/.gen1-lock.json, on any store storage.py reaches.

The lock names its run (id, host, pid, start) and carries a heartbeat that a background thread
renews every quarter lease. A lock whose heartbeat is older than its lease, or whose process on
this same machine is gone, was left by a run that died: the next run takes it over, and says so.

What acquiring guarantees. Not every store has an atomic create-if-absent, so a run writes its
lock (an atomic replace, storage.write_json_atomic), waits a settle delay and reads it back: of runs
that start together, only the last writer finds its own id and goes on; the others find a live
lock and stop (or wait). Two runs could both go on only if one stalls longer than the settle delay
between finding the output free and writing its lock; each heartbeat reads the lock before renewing
it, so such a run learns within a quarter lease that it lost the lock and says so. Staleness is
judged with this machine's clock: hosts whose clocks differ by more than a lease would misjudge.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from gen1_batch import storage
from gen1_batch.layout import LOCK_NAME

LEASE_ENV = "GEN1_LOCK_LEASE"  # seconds; tests shorten it
DEFAULT_LEASE = 120.0


def lease_seconds() -> float:
    return float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def describe(holder: dict[str, Any], now: float | None = None) -> str:
    """Who holds a lock, since when, and how fresh its heartbeat is, in one line."""
    age = (now or time.time()) - float(holder.get("heartbeat", 0))
    return (f"run {holder.get('run_id')} on {holder.get('host')} (pid {holder.get('pid')}), started "
            f"{holder.get('started_at')}, last heartbeat {age:.0f} s ago")


def _running(pid: Any) -> bool:
    """Whether a process of this machine is running (True when that cannot be told)."""
    if sys.platform == "win32":
        return True  # os.kill would end it there
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, TypeError, ValueError):
        return True  # another user's process, or no pid recorded
    return True


class LockHeld(Exception):
    def __init__(self, url: str, holder: dict[str, Any]):
        self.url, self.holder = url, holder
        super().__init__(f"{storage.parent(url)} is in use by {describe(holder)}; wait for it with "
                         f"--wait-for-lock (a run that died frees it after its lease of "
                         f"{holder.get('lease_seconds')} s)")


class OutputLock:
    """`with OutputLock(output):` holds the output's lock for the block, renewing it meanwhile."""

    def __init__(self, output: str, *, wait: bool = False, lease: float | None = None,
                 say: Callable[[str], None] = print):
        self.url = storage.join(output, LOCK_NAME)
        self.wait, self.say = wait, say
        self.lease = lease or lease_seconds()
        self.settle = min(1.0, self.lease / 10)  # longer than a run takes from reading "free" to writing
        now = time.time()
        self.record = {"run_id": uuid.uuid4().hex[:12], "host": socket.gethostname(), "pid": os.getpid(),
                       "started_at": _iso(now), "heartbeat": now, "heartbeat_at": _iso(now),
                       "lease_seconds": self.lease}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> dict[str, Any] | None:
        try:
            holder = storage.read_json(self.url)
        except FileNotFoundError:
            return None
        except ValueError:  # unreadable: no run can renew it, so it is as good as stale
            return {"run_id": "?", "heartbeat": 0, "lease_seconds": 0}
        return holder if isinstance(holder, dict) else {"run_id": "?", "heartbeat": 0, "lease_seconds": 0}

    def _alive(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") == self.record["host"] and not _running(holder.get("pid")):
            return False  # a run on this machine that is gone: no need to wait out its lease
        age = time.time() - float(holder.get("heartbeat", 0))
        return age <= float(holder.get("lease_seconds", self.lease))

    def _write(self) -> None:
        now = time.time()
        self.record.update(heartbeat=now, heartbeat_at=_iso(now))
        storage.write_json_atomic(self.url, self.record)

    def acquire(self) -> None:
        told = False
        while True:
            holder = self._read()
            if holder and holder.get("run_id") != self.record["run_id"] and self._alive(holder):
                if not self.wait:
                    raise LockHeld(self.url, holder)
                if not told:
                    self.say(f"waiting for {storage.parent(self.url)}: in use by {describe(holder)}")
                    told = True
                time.sleep(min(5.0, self.lease / 4))
                continue
            if holder and holder.get("run_id") != self.record["run_id"]:
                self.say(f"note: taking over the lock of {describe(holder)}: that run has died (its process "
                         f"is gone, or its heartbeat is older than its lease of {holder.get('lease_seconds')} s)")
            self._write()
            time.sleep(self.settle)
            back = self._read()
            if back and back.get("run_id") == self.record["run_id"]:
                break
        self._thread = threading.Thread(target=self._heartbeat, name="gen1-lock-heartbeat", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 4):
            try:
                holder = self._read()
                if holder and holder.get("run_id") != self.record["run_id"]:
                    self.say(f"warning: {storage.parent(self.url)} was taken over by {describe(holder)}; "
                             "this run no longer holds its lock")
                    return
                self._write()
            except Exception:  # a passing storage error: the next beat tries again, well within the lease
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self._thread = None
        try:
            holder = self._read()
            if holder and holder.get("run_id") == self.record["run_id"]:
                fs, path = storage.filesystem(self.url)
                fs.rm(path)
        except OSError:
            pass  # left behind, it goes stale after its lease

    def __enter__(self) -> OutputLock:
        try:
            self.acquire()
        except BaseException:  # Ctrl-C while settling: leave no lock of ours behind
            self.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
