"""The training manifest: one row per video or image, read and checked like an edit manifest
(manifest.read_rows: JSONL, CSV or Parquet at any fsspec URL; every problem in one pass)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gen1_batch import storage
from gen1_batch.manifest import ManifestError, Problem, read_rows, resolve_path

SPLITS = ("train", "validation")
# The single source of truth for the schema (validation and `gen1 train --help`).
TRAIN_COLUMNS: dict[str, str] = {
    "video": "a movie or image sequence to sample clips from (path relative to the manifest, or URL)",
    "image": "a still (path or URL); a row has a video or an image",
    "caption": "text about the row (kept with the sample; content is the CLIP image embedding of a frame)",
    "split": "train (default) or validation: held-out clips edited at each validation",
}


@dataclass(frozen=True)
class TrainingRow:
    row: int  # where it is in the manifest
    kind: str  # video | image
    url: str
    caption: str | None = None
    split: str = "train"


def load_training_manifest(url: str, check_files: bool = True) -> list[TrainingRow]:
    """Read and check a training manifest. Raises ManifestError listing every problem found."""
    raw_rows, problems = read_rows(url)
    rows: list[TrainingRow] = []
    for number, raw in raw_rows:
        found = [Problem(number, c, f"unknown column (known: {', '.join(TRAIN_COLUMNS)})")
                 for c in raw if c not in TRAIN_COLUMNS]
        values = {k: v for k, v in raw.items() if v not in (None, "")}
        for column in TRAIN_COLUMNS:
            if column in values and not isinstance(values[column], str):
                found.append(Problem(number, column, f"expected text, got {values[column]!r}"))
        media = [c for c in ("video", "image") if c in values]
        if len(media) != 1:
            found.append(Problem(number, "video", "a row needs a video or an image" if not media else
                                 "a row has a video or an image, not both"))
        split = values.get("split", "train")
        if split not in SPLITS:
            found.append(Problem(number, "split", f"must be one of {', '.join(SPLITS)}, got {split!r}"))
        problems += found
        if not found:
            rows.append(TrainingRow(number, media[0], resolve_path(values[media[0]], url), values.get("caption"),
                                    split))
    if not raw_rows and not problems:
        problems.append(Problem(None, None, "the manifest has no rows"))
    if check_files and rows:
        problems += missing_files(rows)
    if problems:
        raise ManifestError(url, sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return rows


def missing_files(rows: list[TrainingRow]) -> list[Problem]:
    """Rows whose file is not there (in parallel: on object storage each check is a request)."""
    from gen1_batch.media import sequence

    def check(row: TrainingRow) -> Problem | None:
        try:
            if row.kind == "video" and sequence.is_sequence(row.url):
                return None  # its frames are checked when it is read; a bad one is skipped then
            return None if storage.exists(row.url) else Problem(row.row, row.kind, f"file not found: {row.url}")
        except storage.StorageError as e:
            return Problem(row.row, row.kind, str(e))

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [p for p in pool.map(check, rows) if p]


def needs_problems(rows: list[TrainingRow], image_probability: float, url: str) -> None:
    """What a recipe needs of the rows: training rows, and videos unless it trains on images only."""
    train = [r for r in rows if r.split == "train"]
    problems = []
    if not train:
        problems.append(Problem(None, "split", "no training rows (every row is split=validation)"))
    elif image_probability < 1 and not any(r.kind == "video" for r in train):
        problems.append(Problem(None, "video", f"the recipe trains on videos {1 - image_probability:.1%} of the "
                                               "steps, but the manifest has no training videos"))
    if problems:
        raise ManifestError(url, problems)
