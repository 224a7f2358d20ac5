"""metrics.jsonl beside the checkpoints: one JSON object per line (steps, validations, events), on
any store. A local file is appended to; on object storage the file is rewritten whole at each flush."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from gen1_batch import storage

METRICS_NAME = "metrics.jsonl"


def read_records(url: str) -> list[dict[str, Any]]:
    try:
        text = storage.read_bytes(url).decode()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut off when a writer died
            continue
    return out


class MetricsLog:
    def __init__(self, url: str, flush_seconds: float = 20.0):
        self.url = url
        self.local = not storage.is_url(url) or url.startswith("file://")
        self.flush_seconds = flush_seconds
        self._pending: list[dict[str, Any]] = []
        self._records: list[dict[str, Any]] | None = None
        self._last_flush = 0.0

    def restart_at(self, step: int) -> None:
        """Drop what a run that died logged after its last checkpoint (step `step`); keep events."""
        kept = [r for r in read_records(self.url) if r.get("step", 0) <= step]
        self._write_all(kept)

    def append(self, record: dict[str, Any], flush: bool = False) -> None:
        self._pending.append({**record, "time": round(time.time(), 3)})
        if flush or self.local or time.monotonic() - self._last_flush > self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        if self.local:
            path = self.url.removeprefix("file://")
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in self._pending)
        else:
            if self._records is None:
                self._records = read_records(self.url)
            self._records += self._pending
            self._write_all(self._records)
        self._pending = []
        self._last_flush = time.monotonic()

    def _write_all(self, records: list[dict[str, Any]]) -> None:
        self._records = list(records) if not self.local else None
        storage.write_bytes_atomic(self.url, "".join(json.dumps(r) + "\n" for r in records).encode())
