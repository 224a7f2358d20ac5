"""What the model actors share (the stages' here, training's in train/): named arrays packed into
one column value, quiet model logs, torch's thread count. The row contract itself is in row.py."""

from __future__ import annotations

import io

import numpy as np


def pack_arrays(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Named arrays as one uint8 column value (each model conditions on its own set of arrays)."""
    if not arrays:
        return np.zeros((0,), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return np.frombuffer(buffer.getvalue(), np.uint8)


def unpack_arrays(packed: np.ndarray) -> dict[str, np.ndarray]:
    if not packed.size:
        return {}
    with np.load(io.BytesIO(packed.tobytes())) as data:
        return {name: data[name] for name in data.files}


def set_torch_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def quiet_model_logs() -> None:
    """Loading progress bars and cast notices would repeat once per actor in the job log."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
