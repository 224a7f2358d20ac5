"""A source file's bytes, from any store, with one wording for what can go wrong with them."""

from __future__ import annotations

from gen1_batch import storage
from gen1_batch.errors import ShotError


class MediaError(ShotError):
    """A source that cannot be used; the message names the file and, where known, the frame."""


def read_file(url: str) -> bytes:
    """A source file's bytes (a sequence frame, an image prompt, a plate); a MediaError naming the
    file when it is missing, empty or out of reach."""
    try:
        data = storage.read_bytes(url)
    except FileNotFoundError:
        raise MediaError(f"{url}: file not found") from None
    except storage.StorageError as e:
        raise MediaError(str(e)) from None
    if not data:
        raise MediaError(f"{url}: empty file")
    return data
