"""What a report records so that resume can trust it: its sources' identity and its files' sizes.

A source's fingerprint changes when the file is replaced at the same path: it covers the size and
the store's content id (ETag, version) where the store gives one, else the modification time and a
hash of the first and last MiB. A sequence's covers every frame of the range (one listing: names,
sizes, times or ETags) and the content of its first and last frames. A shot's files are recorded
by name and size as they are on the store once written, and checked with one listing of its folder.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import TYPE_CHECKING, Any

from gen1_batch import storage
from gen1_batch.media import sequence

if TYPE_CHECKING:
    from gen1_batch.shot import Shot

HASHED_BYTES = 1 << 20  # from each end of a file without a content id
CONTENT_IDS = ("ETag", "etag", "VersionId", "version_id", "generation", "md5Hash")  # what stores give
TIMES = ("mtime", "LastModified", "last_modified", "updated", "created")
SOURCE_COLUMNS = ("video", "image_prompt")


def _identity(info: dict[str, Any]) -> dict[str, Any]:
    """Size plus the store's content id, or size plus modification time when it has none."""
    ids = {k: str(info[k]) for k in CONTENT_IDS if info.get(k)}
    if ids:
        return {"size": info.get("size"), **ids}
    return {"size": info.get("size"), "time": next((str(info[k]) for k in TIMES if info.get(k) is not None), None)}


def _ends_hash(fs: Any, path: str, size: int) -> str:
    data = fs.cat_file(path, start=0, end=min(size, HASHED_BYTES))
    if size > HASHED_BYTES:
        data += fs.cat_file(path, start=max(HASHED_BYTES, size - HASHED_BYTES), end=size)
    return hashlib.sha256(data).hexdigest()


def _file_parts(fs: Any, info: dict[str, Any]) -> dict[str, Any]:
    parts = _identity(info)
    if parts["size"] is None:  # a server that does not say (some HTTP): the whole content
        parts["content"] = hashlib.sha256(fs.cat_file(info["name"])).hexdigest()
    elif "time" in parts:  # no content id from the store: the ends of the file stand for its content
        parts["ends"] = _ends_hash(fs, info["name"], int(info["size"]))
    return parts


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_fingerprint(url: str) -> str:
    fs, path = storage.filesystem(url)
    info = fs.info(path)
    if info.get("type") == "directory":
        raise IsADirectoryError(f"{url} is a folder, not a file")
    return _digest(_file_parts(fs, info))


def sequence_fingerprint(pattern: str, frame_start: int | None, frame_end: int | None) -> str:
    """Every frame of the range (all frames when it is open) by identity, the first and last by content."""
    seq = sequence.parse(pattern)
    low = frame_start if frame_start is not None else min(seq.frames) if seq.frames else None
    high = frame_end if frame_end is not None else max(seq.frames) if seq.frames else None
    fs, folder = storage.filesystem(seq.directory)
    frames = {}
    for info in fs.ls(folder, detail=True):
        number = seq.number_of(posixpath.basename(info["name"].rstrip("/")))
        if number is not None and (low is None or number >= low) and (high is None or number <= high):
            frames[number] = info
    if not frames:
        raise FileNotFoundError(f"{seq.pattern()}: no frames found")
    first, last = min(frames), max(frames)
    return _digest({"frames": [[n, _identity(frames[n])] for n in sorted(frames)],
                    "first": _file_parts(fs, frames[first]), "last": _file_parts(fs, frames[last])})


def source_fingerprint(url: str, frame_start: int | None = None, frame_end: int | None = None) -> str:
    if sequence.is_sequence(url):
        return sequence_fingerprint(url, frame_start, frame_end)
    return file_fingerprint(url)


def _fingerprint_of(shot: Shot, column: str) -> str:
    url = getattr(shot, column)
    return source_fingerprint(url, shot.frame_start, shot.frame_end) if column == "video" else source_fingerprint(url)


def shot_sources(shot: Shot) -> dict[str, dict[str, Any]]:
    """A shot's video and image prompt with their fingerprints (None where it cannot be taken: then
    the report never counts as done, and the decoder names the problem)."""
    recorded = {}
    for column in SOURCE_COLUMNS:
        url = getattr(shot, column)
        if url:
            try:
                fingerprint: str | None = _fingerprint_of(shot, column)
            except Exception:  # reading the source names the problem
                fingerprint = None
            recorded[column] = {"url": url, "fingerprint": fingerprint}
    return recorded


def changed_source(shot: Shot, recorded: dict[str, Any] | None) -> str | None:
    """Why the shot's sources are not the ones its report recorded, or None if they are."""
    if not recorded:
        return "its report records no source fingerprint (an older gen1 wrote it)"
    for column in SOURCE_COLUMNS:
        url = getattr(shot, column)
        if not url:
            continue
        what = "source" if column == "video" else "image prompt"
        then = (recorded.get(column) or {}).get("fingerprint")
        try:
            now = _fingerprint_of(shot, column)
        except FileNotFoundError:
            return f"{what} missing: {url}"
        except Exception as e:  # the run's decoder names the problem in full
            return f"{what} unreadable: {url} ({type(e).__name__})"
        if then is None or then != now:
            return f"{what} changed: {url}"
    return None


# ----------------------------------------------------------------------------------------------- outputs


def _sizes(folder: str) -> dict[str, int]:
    """File name -> size in a folder, in one listing."""
    fs, path = storage.filesystem(folder)
    try:
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return {}
    return {posixpath.basename(e["name"].rstrip("/")): int(e.get("size") or 0) for e in entries
            if e.get("type") != "directory"}


def record_files(folder: str, output: dict[str, Any] | None, others: list[str]) -> list[dict[str, Any]]:
    """A shot's files as they now are on the store: its edit (`output`, as the writer returned it) and
    the `others` it wrote, as [{name, bytes}]; a sequence as its pattern, range and total bytes."""
    sizes = _sizes(folder)
    files, names = [], list(others)
    if output and output.get("frame_start") is not None:  # a sequence
        seq = sequence.parse(output["url"])
        numbers = range(output["frame_start"], output["frame_end"] + 1)
        files.append({"name": storage.basename(seq.pattern()), "frame_start": numbers[0], "frame_end": numbers[-1],
                      "bytes": sum(sizes.get(seq.name(n), 0) for n in numbers)})
    elif output:
        names.insert(0, storage.basename(output["url"]))
    return files + [{"name": n, "bytes": sizes[n]} for n in dict.fromkeys(names) if n in sizes]


def changed_files(folder: str, files: list[dict[str, Any]] | None, label: str) -> str | None:
    """Why the files a report lists are not (all) there as it recorded them, or None if they are.
    `label` names the folder in the reason (the shot id)."""
    if not files:
        return "its report records no output files (an older gen1 wrote it)"
    sizes = _sizes(folder)
    for entry in files:
        name = entry["name"]
        if "frame_start" in entry:
            seq = sequence.parse(name)
            for number in range(entry["frame_start"], entry["frame_end"] + 1):
                if seq.name(number) not in sizes:
                    return f"output missing: {label}/{seq.name(number)}"
            size = sum(sizes[seq.name(n)] for n in range(entry["frame_start"], entry["frame_end"] + 1))
        elif name not in sizes:
            return f"output missing: {label}/{name}"
        else:
            size = sizes[name]
        if size != entry["bytes"]:
            return f"output changed: {label}/{name} ({size} bytes, its report says {entry['bytes']})"
    return None
