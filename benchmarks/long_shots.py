"""Long shots: memory against shot length, and the cost of overlapping windows.

1. Peak memory of `gen1 run` on one shot of 100, 300 and 600 frames (tiny model). The job's
   processes (driver, raylet, workers) are sampled every 0.2 s; memory is summed as PSS, so pages
   shared through Ray's object store are counted once. Growth per frame is set against what one
   frame of the shot takes in the pipeline's arrays (working-size frames, depth, edit, latents).
2. Sampling time with overlapping windows against no overlap (S = W), next to the theoretical
   ratio: the number of window evaluations, about W / S for a long shot.

    python benchmarks/long_shots.py                       # both, 128×128 working size
    python benchmarks/long_shots.py --frames 100 300 600 --size 128
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import psutil


def sample_memory(root: psutil.Process, stop: threading.Event, peaks: dict) -> None:
    while not stop.is_set():
        total, workers = 0, {}
        for proc in [root, *root.children(recursive=True)]:
            try:
                pss = proc.memory_full_info().pss
                name = " ".join(proc.cmdline())[:80]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += pss
            if "DiffusionStage" in name:
                workers["diffusion"] = pss
        peaks["total"] = max(peaks.get("total", 0), total)
        peaks["diffusion"] = max(peaks.get("diffusion", 0), workers.get("diffusion", 0))
        time.sleep(0.2)


def run_one(frames: int, size: int, root: Path) -> dict:
    from gen1_batch.media.synthetic import write_synthetic_clip

    clip = root / f"shot{frames}.mp4"
    write_synthetic_clip(str(clip), frames, size, size, Fraction(24), seed=frames)
    manifest = root / f"m{frames}.jsonl"
    manifest.write_text(json.dumps({"shot_id": f"shot{frames}", "video": clip.name, "prompt": "p", "steps": 2,
                                    "width": size, "height": size}) + "\n")
    out = root / f"out{frames}"
    proc = psutil.Popen([sys.executable, "-m", "gen1_batch", "run", str(manifest), "--output", str(out), "--json"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks: dict = {}
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(proc, stop, peaks), daemon=True)
    t0 = time.perf_counter()
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"gen1 run failed on {frames} frames:\n{err.decode()[-2000:]}")
    return {"frames": frames, "wall": time.perf_counter() - t0, **peaks}


def per_frame_bytes(size: int) -> int:
    """What one frame takes in a shot's arrays: input frames and edit (uint8 RGB), depth (float32),
    structure and noisy latents and their accumulators (4 channels at 1/8 size, float32, ~6 copies)."""
    pixels = size * size
    return pixels * 3 * 2 + pixels * 4 + 6 * 4 * (pixels // 64) * 4


def memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gen1-long-") as tmp:
        results = [run_one(n, args.size, Path(tmp)) for n in args.frames]
    mb = 1024**2
    print(f"\npeak memory of `gen1 run`, one shot, tiny model, {args.size}x{args.size} working size, 2 steps")
    print(f"  {'frames':>6}  {'wall s':>7}  {'job PSS MB':>10}  {'diffusion worker MB':>19}")
    for r in results:
        print(f"  {r['frames']:6d}  {r['wall']:7.1f}  {r['total'] / mb:10.0f}  {r['diffusion'] / mb:19.0f}")
    first, last = results[0], results[-1]
    extra = last["frames"] - first["frames"]
    data = per_frame_bytes(args.size)
    job_growth = (last["total"] - first["total"]) / extra / 1024
    worker_growth = (last["diffusion"] - first["diffusion"]) / extra / 1024
    print(f"  growth from {first['frames']} to {last['frames']} frames: job {job_growth:.0f} KB/frame, "
          f"diffusion worker {worker_growth:.0f} KB/frame; one frame's arrays: {data / 1024:.0f} KB")


def overlap(args: argparse.Namespace) -> None:
    import torch

    from gen1_batch.model.presets import build_tiny
    from gen1_batch.model.sampler import SamplingStats, sample
    from gen1_batch.model.windows import WindowSpec, describe_plan

    torch.set_grad_enabled(False)
    parts = build_tiny(["unet", "scheduler"])
    n, w, latent = args.overlap_frames, 8, args.size // 8
    structure = torch.randn(1, 4, n, latent, latent, generator=torch.Generator().manual_seed(0))
    content, null = torch.randn(1, 32), torch.zeros(1, 32)

    def denoise(x, t, c, s, video):
        return parts["unet"](x, t, c, s, video=video).sample

    def timed(stride: int) -> tuple[float, SamplingStats]:
        spec = WindowSpec(w, stride, shift=False)
        stats = SamplingStats()
        t0 = time.perf_counter()
        sample(denoise, parts["scheduler"], structure, content, null, steps=2, content_scale=7.5, temporal_scale=1.0,
               window=spec, generator=torch.Generator().manual_seed(1), stats=stats)
        return time.perf_counter() - t0, stats

    timed(w)  # warm-up
    base_time, base = timed(w)
    print(f"\noverlap cost, tiny UNet, {n} frames, window {w}, {args.size}x{args.size}, 2 steps")
    print(f"  {'stride':>6}  {'windows':>7}  {'time s':>7}  {'measured ratio':>14}  "
          f"{'theory (evaluations)':>20}  {'W/S':>5}")
    for stride in (8, 4, 2):
        seconds, stats = timed(stride)
        windows = describe_plan(n, WindowSpec(w, stride, shift=False), 2)["windows_per_step"]
        print(f"  {stride:6d}  {windows:7d}  {seconds:7.2f}  {seconds / base_time:14.2f}  "
              f"{stats.clip_passes / base.clip_passes:20.2f}  {w / stride:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 300, 600])
    parser.add_argument("--size", type=int, default=128, help="working size (square)")
    parser.add_argument("--overlap-frames", type=int, default=200)
    parser.add_argument("--only", choices=["memory", "overlap"])
    args = parser.parse_args()
    if args.only != "overlap":
        memory(args)
    if args.only != "memory":
        overlap(args)


if __name__ == "__main__":
    main()
