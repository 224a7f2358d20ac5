"""Decoding speed and frame accuracy: PyAV (what gen1-batch uses) against decord, where installed.

For each clip it prints the frames each decoder returns and the seconds to decode them all to RGB
uint8 arrays (best of `--repeat` runs). decord is not a dependency; `pip install decord` to compare.

    python benchmarks/decoders.py CLIP [CLIP ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import av
import numpy as np


def decode_pyav(path: str) -> int:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threading, as the product's reader
        return sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)


def decode_decord(path: str) -> int:
    import decord

    reader = decord.VideoReader(path, ctx=decord.cpu(0))
    frames = 0
    for start in range(0, len(reader), 32):
        batch = reader.get_batch(list(range(start, min(start + 32, len(reader))))).asnumpy()
        frames += len(np.asarray(batch))
    return frames


def best_of(decoder, path: str, repeat: int) -> tuple[int, float]:
    times, frames = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        frames = decoder(path)
        times.append(time.perf_counter() - t0)
    return frames, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    decoders = {"pyav": decode_pyav}
    try:
        import decord  # noqa: F401

        decoders["decord"] = decode_decord
    except ImportError:
        print("decord is not installed: PyAV only (pip install decord to compare)")
    print(f"{'clip':40} {'decoder':8} {'frames':>7} {'seconds':>8}")
    for clip in args.clips:
        for name, decoder in decoders.items():
            try:
                frames, seconds = best_of(decoder, clip, args.repeat)
                print(f"{clip:40} {name:8} {frames:7d} {seconds:8.3f}")
            except Exception as e:
                print(f"{clip:40} {name:8} failed: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
