"""UNet work per denoising step, and its speed.

For ω_t = 1 (content guidance only: ε(z,c,s) and ε(z,∅,s)) and ω_t ≠ 1 (plus the image-mode pass
ε^π(z,∅,s)) it prints UNet calls and clip passes per step, and seconds per frame per step:

* the tiny config on CPU (always);
* the full-size config (the gen1-sd15 architecture with random weights: no download) where a GPU
  is present, in bf16 at 512×512 with 8-frame windows, with achieved TFLOP/s (FLOPs counted by
  torch's FlopCounterMode) and its fraction of the GPU's bf16 matmul peak, measured here by a
  large matmul. `--full --device cpu` runs it on the CPU at a small size, to check it runs.

    python benchmarks/model_step.py                # tiny on CPU, full-size too if CUDA is present
    python benchmarks/model_step.py --full --device cpu --size 128 --frames 4 --steps 1
"""

from __future__ import annotations

import argparse
import time

import torch

from gen1_batch.model.sampler import SamplingStats, sample
from gen1_batch.model.windows import WindowSpec, window_starts


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_sampling(unet, scheduler, frames: int, latent: int, content_dim: int, steps: int, temporal_scale: float,
                  device: str, dtype: torch.dtype, max_batch: int) -> tuple[float, SamplingStats]:
    g = torch.Generator().manual_seed(0)
    structure = torch.randn(1, 4, frames, latent, latent, generator=g).to(device, dtype)
    content = torch.randn(1, content_dim, generator=g).to(device, dtype)
    null = torch.zeros_like(content)

    def denoise(x, t, c, s, video):
        return unet(x, t, c, s, video=video).sample

    window = WindowSpec(length=min(8, frames), stride=min(4, frames), shift=False)
    kwargs = dict(content_scale=7.5, temporal_scale=temporal_scale, window=window, max_batch=max_batch)
    sample(denoise, scheduler, structure, content, null, steps=1, generator=torch.Generator().manual_seed(1),
           **kwargs)  # warm-up
    sync(device)
    stats = SamplingStats()
    t0 = time.perf_counter()
    sample(denoise, scheduler, structure, content, null, steps=steps, generator=torch.Generator().manual_seed(1),
           stats=stats, **kwargs)
    sync(device)
    return time.perf_counter() - t0, stats


def flops_per_clip_pass(unet, frames: int, latent: int, content_dim: int, device: str, dtype: torch.dtype) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 4, frames, latent, latent, device=device, dtype=dtype)
    c = torch.zeros(1, content_dim, device=device, dtype=dtype)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(x, torch.tensor(500, device=device), c, x, video=True)
    return counter.get_total_flops()


def matmul_peak(device: str, dtype: torch.dtype, n: int = 8192, repeats: int = 20) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - t0)


def report(name: str, frames: int, steps: int, runs: dict[float, tuple[float, SamplingStats]]) -> None:
    windows = len(window_starts(frames, min(8, frames), min(4, frames)))
    print(f"\n{name}: {frames} frames in {windows} window(s) of {min(8, frames)}, {steps} steps")
    for temporal_scale, (seconds, stats) in runs.items():
        print(f"  ω_t = {temporal_scale:<4}  UNet calls/step {stats.forwards / stats.steps:5.2f}  "
              f"clip passes/step {stats.clip_passes / stats.steps:5.2f}  "
              f"s/frame/step {seconds / (frames * stats.steps):.5f}  ({seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--full", action="store_true", help="also the full-size config (default when CUDA is present)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=512, help="working size of the full-size run (pixels, square)")
    parser.add_argument("--max-batch", type=int, default=8, help="clips per UNet call")
    args = parser.parse_args()

    from gen1_batch.model.presets import build_gen1_sd15, build_tiny

    tiny = build_tiny(["unet", "scheduler"])
    torch.set_grad_enabled(False)
    runs = {ts: time_sampling(tiny["unet"], tiny["scheduler"], args.frames, 8, 32, args.steps, ts, "cpu",
                              torch.float32, args.max_batch) for ts in (1.0, 1.5)}
    report(f"tiny on CPU ({torch.get_num_threads()} threads), 64×64 working size", args.frames, args.steps, runs)

    if not (args.full or args.device.startswith("cuda")):
        print("\nfull-size config: no GPU here (run with --full --device cpu for a small CPU check)")
        return
    device = args.device
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    parts = build_gen1_sd15(["unet", "scheduler"], random_init=True)
    unet = parts["unet"].to(device, dtype)
    latent = args.size // 8
    runs = {ts: time_sampling(unet, parts["scheduler"], args.frames, latent, 768, args.steps, ts, device, dtype,
                              args.max_batch) for ts in (1.0, 1.5)}
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    report(f"full size (gen1-sd15 architecture, random weights) on {name}, {dtype}, "
           f"{args.size}×{args.size}", args.frames, args.steps, runs)
    window = min(8, args.frames)
    per_pass = flops_per_clip_pass(unet, window, latent, 768, device, dtype)
    print(f"  FLOPs per {window}-frame clip pass: {per_pass / 1e12:.3f} TFLOP")
    peak = matmul_peak(device, dtype) if device.startswith("cuda") else None
    for temporal_scale, (seconds, stats) in runs.items():
        achieved = per_pass * stats.clip_passes / seconds
        line = f"  ω_t = {temporal_scale:<4}  achieved {achieved / 1e12:7.1f} TFLOP/s"
        if peak:
            line += f"  = {achieved / peak:.1%} of the measured {dtype} matmul peak ({peak / 1e12:.0f} TFLOP/s)"
        print(line)


if __name__ == "__main__":
    main()
