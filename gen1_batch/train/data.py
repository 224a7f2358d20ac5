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
    "caption": "text about the row: what the CLIP and prior recipes learn from (the UNet's content is the CLIP "
               "image embedding of a frame)",
    "depth": "exact depth of every frame, for the depth estimator's recipe: .npz with a `depth` array or .npy "
             "(frames × height × width, distance along the camera axis), path or URL",
    "mask": "where the UNet's loss counts more (the recipe's data.mask_weight), e.g. the subject: .npz with a "
            "`mask` array or .npy (frames × height × width, nonzero inside), path or URL",
    "split": "train (default) or validation: held-out clips edited at each validation",
}


@dataclass(frozen=True)
class TrainingRow:
    row: int  # where it is in the manifest
    kind: str  # video | image
    url: str
    caption: str | None = None
    split: str = "train"
    depth: str | None = None  # URL of the exact depth of its frames
    mask: str | None = None  # URL of its frames' masks


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
            depth, mask = (resolve_path(values[c], url) if c in values else None for c in ("depth", "mask"))
            rows.append(TrainingRow(number, media[0], resolve_path(values[media[0]], url), values.get("caption"),
                                    split, depth, mask))
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
            # a sequence's frames are checked when it is read; a bad one is skipped then
            media = None if row.kind == "video" and sequence.is_sequence(row.url) else row.url
            for column, url in ((row.kind, media), ("depth", row.depth), ("mask", row.mask)):
                if url and not storage.exists(url):
                    return Problem(row.row, column, f"file not found: {url}")
            return None
        except storage.StorageError as e:
            return Problem(row.row, row.kind, str(e))

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [p for p in pool.map(check, rows) if p]


def needs_problems(rows: list[TrainingRow], image_probability: float, url: str, depth: bool = False,
                   mask: bool = False) -> None:
    """What a recipe needs of the rows: training rows, videos unless it trains on images only, exact
    depth when it trains a depth estimator, and masks when it weighs them."""
    train = [r for r in rows if r.split == "train"]
    problems = []
    if depth and train and not any(r.depth for r in train):
        problems.append(Problem(None, "depth", "the recipe trains a depth estimator, but no training row has "
                                               "exact depth"))
    if mask and train and not any(r.mask for r in train):
        problems.append(Problem(None, "mask", "the recipe weighs masks (data.mask_weight), but no training row "
                                              "has a mask"))
    if not train:
        problems.append(Problem(None, "split", "no training rows (every row is split=validation)"))
    elif image_probability < 1 and not any(r.kind == "video" for r in train):
        problems.append(Problem(None, "video", f"the recipe trains on videos {1 - image_probability:.1%} of the "
                                               "steps, but the manifest has no training videos"))
    if problems:
        raise ManifestError(url, problems)
