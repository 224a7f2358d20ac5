"""Errors that explain themselves, in one line that names the file or URL.

`ShotError` is bad input for one shot, reported as is. `describe` turns any exception into one
line: ours as they are; those of storage, networks and decoders (missing credentials, a refused
connection, a package not installed, an unknown URL scheme, an image too large to decode) as what
went wrong, found anywhere along the exception's causes; anything else (a bug) with the place it
surfaced. The command line, the stages' failed reports and storage.py all use it, so a failure
reads the same wherever it shows.
"""

from __future__ import annotations

import errno
import os
import re
import traceback
from collections.abc import Iterator


class ShotError(Exception):
    """Something about one shot's input makes it impossible to edit; the message names the file."""


class StorageError(OSError):
    """A file or URL that cannot be reached, read or written; the message names it and says why."""


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, outermost first (a context hidden with `from None` stays hidden)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _is(error: BaseException, *names: str) -> bool:
    """Whether the error is of a class with one of these names (botocore, aiohttp, httpx, PIL… are
    matched by name, so none of them has to be installed)."""
    return any(cls.__name__ in names for cls in type(error).__mro__)


def _one_line(text: str) -> str:
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-f]+>", "the data", text)  # an object's repr names nothing
    return " ".join(text.split())


# ------------------------------------------------------------------------------------ networks

_CONNECTION_ERRORS = ("ConnectionError", "ClientConnectorError", "ClientConnectionError", "ServerDisconnectedError",
                      "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectError",
                      "ConnectTimeout", "ProxyError", "gaierror", "TimeoutError")
_UNREACHABLE_ERRNOS = (errno.ECONNREFUSED, errno.ECONNRESET, errno.ETIMEDOUT, errno.ENETUNREACH,
                       errno.EHOSTUNREACH, errno.ECONNABORTED)


def _is_connection(error: BaseException) -> bool:
    if _is(error, "OfflineModeIsEnabled", "BrokenPipeError"):  # ConnectionErrors, but no connection was tried
        return False
    if _is(error, *_CONNECTION_ERRORS):
        return True
    return isinstance(error, OSError) and error.errno in _UNREACHABLE_ERRNOS


def network_cause(error: BaseException) -> BaseException | None:
    """The connection failure behind an error, if one is (fsspec's HTTP files, for one, report a
    refused connection as FileNotFoundError: that is not a missing file)."""
    return next((e for e in _chain(error) if _is_connection(e)), None)


def _endpoint(error: BaseException) -> str | None:
    """The URL or host:port a connection error was for, where the error says."""
    for e in _chain(error):
        try:  # httpx: the request; raises when the error has none
            return str(e.request.url)
        except Exception:
            pass
        kwargs = getattr(e, "kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("endpoint_url"):  # botocore
            return str(kwargs["endpoint_url"])
        if getattr(e, "host", None) and getattr(e, "port", None):  # aiohttp
            return f"{e.host}:{e.port}"
    return None


def _why_unreachable(error: BaseException) -> str:
    chain = list(_chain(error))
    for e in chain:
        if isinstance(e, OSError) and e.errno in _UNREACHABLE_ERRNOS:
            return os.strerror(e.errno).lower()  # asyncio's own text is "Connect call failed (…)"
        if _is(e, "gaierror"):
            return "host name not found"
    for e in reversed(chain):  # httpx and urllib3 keep the OS's reason only in their text: "[Errno 111] …"
        found = re.search(r"\[Errno (-?\d+)\] ?([^\]'\"]+)", str(e))
        if found:
            return found.group(2).strip().lower()
    # Checked last: urllib3's error for a refused connection is a ConnectTimeoutError too.
    if any(isinstance(e, TimeoutError) or _is(e, "ConnectTimeout", "ConnectTimeoutError", "ReadTimeoutError")
           for e in chain):
        return "timed out"
    return "unreachable"


def _describe_connection(error: BaseException) -> str:
    where = _endpoint(error)
    return f"cannot connect to {where}: {_why_unreachable(error)}" if where else \
        f"cannot connect: {_why_unreachable(error)}"


# ---------------------------------------------------------------------------------- the reasons


def reason(error: BaseException) -> str | None:
    """What went wrong, for errors of storage, networks and decoders; None for any other error."""
    chain = list(_chain(error))
    for e in chain:  # the decisive cause first, wherever it is in the chain
        if _is(e, "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
            return ("no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                    "or run where an IAM role applies)")
        if _is(e, "DefaultCredentialsError", "RefreshError"):
            return ("no Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth "
                    "application-default login`)")
        if _is(e, "DecompressionBombError"):
            return _one_line(f"image too large to decode safely: {e}")
    if network_cause(error) is not None:
        return _describe_connection(error)
    for e in chain:
        if _is(e, "LocalEntryNotFoundError", "OfflineModeIsEnabled"):  # no connection was even tried
            what = "" if e is chain[0] else _one_line(str(chain[0])).rstrip(".") + ": "  # diffusers names the repo
            return f"{what}not in the Hugging Face cache, and downloads are off (HF_HUB_OFFLINE is set)"
        if isinstance(e, ImportError) and (e is chain[0] or "install" in str(e).lower()):  # fsspec says which
            return _one_line(f"a package it needs is not installed: {e}")
        if isinstance(e, ValueError) and str(e).startswith("Protocol not known:"):
            scheme = str(e).split(":", 1)[1].strip()
            return f"unknown storage scheme {scheme}:// (no fsspec filesystem is registered for it)"
    top = chain[0]
    if _is(top, "ClientResponseError") and getattr(top, "status", None):  # aiohttp
        return _one_line(f"HTTP {top.status} {getattr(top, 'message', '')}")
    if _is(top, "FFmpegError") and getattr(top, "strerror", None):
        return _one_line(top.strerror)  # its filename is FFmpeg's call or a buffer: the caller names the file
    if _is(top, "UnidentifiedImageError"):
        return "not an image format Pillow reads (or a damaged file)"
    if isinstance(top, FileNotFoundError) and (top.strerror is None or top.errno == errno.ENOENT):
        return "file not found"
    if isinstance(top, OSError) and top.strerror:  # "Permission denied", "Is a directory", "No space left…"
        return top.strerror[:1].lower() + top.strerror[1:]
    return None


def describe(error: BaseException, url: str | None = None) -> str:
    """One line for any error: ours as they are, known failures as `reason` says, a bug with the place
    it surfaced. With `url`, the line names it (once)."""
    if isinstance(error, (ShotError, StorageError)):  # ours: they say what and where already
        text = _one_line(str(error))
    else:
        text = reason(error)
        if text is None:
            text = _one_line(str(error)) or type(error).__name__
            if not isinstance(error, (ValueError, OSError)):  # a bug: say where it surfaced
                frames = traceback.extract_tb(error.__traceback__)
                if frames:
                    text += f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})"
    if url and url not in text:
        text = f"{url}: {text}"
    return text
