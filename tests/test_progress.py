import io

import pytest
from rich.console import Console

from gen1_batch.progress import JobProgress

NOTE = "variable frame rate (frames last 41.7 to 125.0 ms): the output kept the source's timestamps"


@pytest.mark.parametrize("terminal", [False, True])
def test_a_shots_notes_are_said_on_the_terminal_as_it_finishes(terminal):
    console = Console(file=io.StringIO(), force_terminal=terminal, width=200, record=True)
    with JobProgress(1, console) as progress:
        progress.shot_finished({"shot_id": "sh010", "status": "succeeded", "notes": [NOTE],
                                "seconds": {"decode": 0.1, "total": 0.1}})
    assert f"note sh010: {NOTE}" in console.export_text()


def test_the_live_display_counts_shots_in_the_reports_words():
    console = Console(file=io.StringIO(), force_terminal=True, width=200, record=True)
    with JobProgress(2, console) as progress:
        progress.shot_finished({"shot_id": "a", "status": "succeeded", "seconds": {"total": 0.1}})
        progress.shot_finished({"shot_id": "b", "status": "failed", "seconds": {"total": 0.1},
                                "error": {"stage": "decode", "type": "MediaError", "message": "m"}})
    assert "1 succeeded 1 failed" in console.export_text()
