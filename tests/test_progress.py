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
