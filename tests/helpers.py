"""Helpers for tests: write a manifest, run the CLI as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def write_manifest(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def gen1(*args: str, check: int | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the CLI in a new process, as a user would."""
    result = subprocess.run([sys.executable, "-m", "gen1_batch", *args], capture_output=True, text=True,
                            timeout=timeout)
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result
