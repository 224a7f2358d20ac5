"""What a job writes at the root of its output, beside one folder per shot named by its shot id.

Shot ids may not take these names (nor start with '.', which the job keeps for its own hidden files:
temporaries, markers), so no shot folder can stand where a job file goes.
"""

INDEX_NAME = "index.html"
SUMMARY_NAME = "summary.json"
RESULTS_NAME = "results.parquet"
LOCK_NAME = ".gen1-lock.json"  # one run at a time on an output (lock.py)
EDITED_TIMELINE_NAME = "edited.otio"  # the timeline of a manifest made from one, pointing at the edits (editorial.py)
JOB_FILES = (SUMMARY_NAME, INDEX_NAME, RESULTS_NAME, LOCK_NAME, EDITED_TIMELINE_NAME)
