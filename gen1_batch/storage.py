"""Local paths and fsspec URLs behind one small interface, with atomic commits.

Every final file is written under a hidden temporary name beside it and then moved into place,
so a reader (or a resumed job) never sees a partial file at a final path. On a local disk the
move is an atomic rename; on object stores it is a server-side copy, and the final key only
appears once the copy is complete.

What goes wrong on the way (no credentials, a refused connection, a scheme without its package)
comes out as one StorageError naming the URL and the reason (see errors.py); a file that is
simply not there stays a FileNotFoundError, for callers that expect one.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import uuid
from contextlib import contextmanager, suppress
from typing import Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from gen1_batch.errors import StorageError, describe, network_cause

__all__ = ["StorageError"]  # raised by every function here that touches storage

TMP_MARKER = ".tmp-"
# The names _temporary_sibling makes (".report.json.tmp-1a2b3c4d"): the only names cleaned up as temporaries.
TEMPORARY = re.compile(rf"\..+{re.escape(TMP_MARKER)}[0-9a-f]{{8}}")


@contextmanager
def explained(url: str):
    """Errors of the block as a StorageError naming `url` and the reason; a plain 'not there'
    stays a FileNotFoundError."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as e:
        if network_cause(e) is None:
            raise
        raise StorageError(describe(e, url)) from e
    except Exception as e:
        raise StorageError(describe(e, url)) from e


def is_url(path: str) -> bool:
    return "://" in path


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and the path within it. Credentials and endpoints come from each
    filesystem's usual configuration (for S3: AWS_* variables, profiles, AWS_ENDPOINT_URL)."""
    with explained(url):
        return url_to_fs(url)


def join(base: str, *parts: str) -> str:
    if is_url(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def parent(url: str) -> str:
    if is_url(url):
        protocol, _, path = url.partition("://")
        return f"{protocol}://{posixpath.dirname(path)}"
    return os.path.dirname(os.path.abspath(url))


def basename(url: str) -> str:
    return posixpath.basename(url.rstrip("/")) if is_url(url) else os.path.basename(url)


def absolute(url: str) -> str:
    return url if is_url(url) else os.path.abspath(url)


def exists(url: str) -> bool:
    """Whether `url` is there; a store that cannot be asked raises StorageError (fsspec's own
    `exists` would say False when, say, an HTTP server refuses the connection)."""
    fs, path = filesystem(url)
    with explained(url):
        try:
            fs.info(path)
        except FileNotFoundError as e:
            if network_cause(e) is not None:
                raise
            return False
    return True


def isdir(url: str) -> bool:
    fs, path = filesystem(url)
    with explained(url):
        return fs.isdir(path)


def read_bytes(url: str) -> bytes:
    fs, path = filesystem(url)
    with explained(url):
        if fs.isdir(path):
            raise StorageError(f"{url}: is a folder, not a file")
        return fs.cat_file(path)


def open_input(url: str):
    """`url` opened for reading, as a binary file object."""
    fs, path = filesystem(url)
    with explained(url):
        return fs.open(path, "rb")


def read_json(url: str) -> Any:
    return json.loads(read_bytes(url))


def _temporary_sibling(path: str) -> str:
    head, name = posixpath.split(path)
    return posixpath.join(head, f".{name}{TMP_MARKER}{uuid.uuid4().hex[:8]}")


def _commit(fs: fsspec.AbstractFileSystem, tmp: str, path: str) -> None:
    if isinstance(fs, LocalFileSystem):
        os.replace(tmp, path)  # atomic on POSIX, replaces an older file in one step
    else:
        fs.mv(tmp, path)


@contextmanager
def _atomic_target(url: str):
    """(filesystem, temporary path) to write `url`'s content to; moved into place when the block
    ends, removed if it fails."""
    fs, path = filesystem(url)
    tmp = _temporary_sibling(path)
    try:
        with explained(url):
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
            yield fs, tmp
            _commit(fs, tmp, path)
    except BaseException:
        _remove_quietly(fs, tmp)
        raise


def write_bytes_atomic(url: str, data: bytes) -> None:
    with _atomic_target(url) as (fs, tmp):
        fs.pipe_file(tmp, data)


def write_json_atomic(url: str, value: Any) -> None:
    write_bytes_atomic(url, json.dumps(value, indent=2, sort_keys=False).encode() + b"\n")


def put_file_atomic(local_path: str, url: str) -> None:
    """Upload a finished local file to its final URL through a temporary key."""
    with _atomic_target(url) as (fs, tmp):
        fs.put_file(local_path, tmp)


def remove_stale_temporaries(folder_url: str) -> None:
    """Remove temporary files an interrupted writer left in a folder (only names it makes)."""
    fs, path = filesystem(folder_url)
    with explained(folder_url):
        entries = fs.ls(path, detail=False) if fs.isdir(path) else []
    for entry in entries:
        if TEMPORARY.fullmatch(posixpath.basename(entry.rstrip("/"))):
            _remove_quietly(fs, entry)


def _remove_quietly(fs: fsspec.AbstractFileSystem, path: str) -> None:
    with suppress(Exception):  # cleaning up must not hide the error that led here
        fs.rm(path)


def output_problem(url: str, folder: bool = True) -> str | None:
    """Why nothing can be written at `url` (a folder, or with folder=False a file's place), or None.

    Checked before any work by creating, writing and deleting a hidden marker there, so an output
    that is the wrong kind of thing, read-only, or out of reach (no credentials, an unknown
    protocol) fails in one line instead of after every shot ran. Folders it made are removed again.
    """
    try:
        fs, path = filesystem(url)
        if not folder:
            if fs.isdir(path):
                return "it is a folder; give a file name"
            path = posixpath.dirname(path)
        if fs.isfile(path):
            return "it is a file, not a folder" if folder else f"{path} is a file, not a folder"
        made = []  # local folders this check creates, deepest first
        missing = path
        while isinstance(fs, LocalFileSystem) and not fs.exists(missing) and posixpath.dirname(missing) != missing:
            made.append(missing)
            missing = posixpath.dirname(missing)
        fs.makedirs(path, exist_ok=True)
        marker = _temporary_sibling(posixpath.join(path, "gen1-output-check"))
        fs.pipe_file(marker, b"")
        fs.rm(marker)
        for folder_made in made:
            with suppress(OSError):
                os.rmdir(folder_made)
    except Exception as e:  # any failure here is the answer, whatever the filesystem raises
        if isinstance(e, StorageError):  # already says what and where
            return f"cannot write there ({e})"
        detail = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.strerror and e.filename else e
        return f"cannot write there ({type(e).__name__}: {detail})"
    return None
