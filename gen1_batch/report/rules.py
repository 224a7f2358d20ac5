"""Each judgement a report makes of a shot, stated once: the terminal (`gen1 report`), the pages and
the index's JavaScript all take them from here."""

from __future__ import annotations

import json
from typing import Any

from gen1_batch.report.schema import SUCCEEDED

DEFAULT_THRESHOLD = 0.9  # frame consistency below this makes a succeeded shot an outlier
OUTLIER_METRIC = "frame_consistency"


def prompt_score(metrics: dict[str, Any]) -> float | None:
    """How well the edit follows what it was asked for: its prompt consistency, or for a shot with
    only a reference image, its reference consistency."""
    score = metrics.get("prompt_consistency")
    return score if score is not None else metrics.get("reference_consistency")


def is_outlier(status: str, frame_consistency: Any, threshold: float) -> bool:
    """A succeeded shot whose frames agree less than `threshold`: worth a look before it ships."""
    return status == SUCCEEDED and isinstance(frame_consistency, (int, float)) and frame_consistency < threshold


# The same rule for the index page, whose threshold the reader can change: r is an index row.
OUTLIER_JS = (f"(r, limit) => r.status==={json.dumps(SUCCEEDED)} && typeof r.{OUTLIER_METRIC}==='number' "
              f"&& r.{OUTLIER_METRIC} < limit")
