"""The edit's GPU cost against the UNet floor (issue: close to the hardware).

On a CUDA GPU it builds the full-size backends with random weights (no download: the architecture
is what costs) and prints, per backend, working size and window length:

* UNet forward TFLOP/s (FLOPs counted by torch's FlopCounterMode) and the share of the GPU's dense
  bf16 peak (the datasheet's where the GPU is known, and a measured large matmul);
* seconds per output frame for `--steps` steps at ω_t = 1 and 1.5 (the sampler alone: UNet calls,
  guidance, windows) and the UNet-only floor (the same passes as one batched call per step, no
  window overhead), with the ratio;
* peak GPU memory (torch.cuda.max_memory_allocated) per `--max-batch`;
* VAE encode + decode and depth seconds per frame;
* device-to-host syncs in two sampling steps (CUDA's sync debug mode; the loop should need none);
* a whole 48-frame shot through the pipeline `gen1 edit` uses (depth, content, sampling, decode),
  seconds per frame, against the floor.

On a CPU it runs the tiny model at a small size through the same code and says plainly that the
numbers are not GPU numbers.

    python benchmarks/gpu.py                       # everything the device allows
    python benchmarks/gpu.py --backend gen1-sd15 --size 512x512 --window 8 --steps 50
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch

from gen1_batch.model.sampler import SamplingStats, sample
from gen1_batch.model.windows import WindowSpec, describe_plan

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, TFLOP/s.
DENSE_BF16_PEAK = {"H100 SXM": 989, "H100 80GB HBM3": 989, "H100 PCIe": 756, "H100 NVL": 835, "H200": 989,
                   "A100": 312, "L40S": 362, "L4": 121, "A10": 125, "RTX 4090": 165}


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], repeats: int = 1, warm_up: Callable[[], Any] | None = None) -> float:
    (warm_up or fn)()  # kernels, allocator, cuDNN autotuning: out of the numbers
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - t0) / repeats


def datasheet_peak(name: str) -> float | None:
    return next((tf * 1e12 for key, tf in DENSE_BF16_PEAK.items() if key in name), None)


def matmul_peak(device: str, dtype: torch.dtype, n: int = 8192) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n**3 / timed(lambda: a @ b, repeats=20)


def build(backend: str, full: bool) -> Any:
    """The backend's pipeline with random weights: full size on a GPU, its tiny twin otherwise."""
    from gen1_batch.model.loading import pipeline_class
    from gen1_batch.model.presets import PRESETS

    name = backend if full else {"gen1-sd15": "tiny", "animatediff-depth": "tiny-animatediff"}[backend]
    preset = PRESETS[name]
    components = preset.build(None, random_init=True)
    return pipeline_class(preset.pipeline)(**components, settings=preset.settings)


def unet_flops(denoise: Callable, clip: torch.Tensor, structure: torch.Tensor, content: Any, video: bool) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    flags = torch.full((clip.shape[0],), video)  # on the host, as the sampler gives them
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        denoise(clip, torch.tensor(500, device=clip.device), content, structure, flags)
    return counter.get_total_flops()


def floor_seconds(pipe: Any, latent: torch.Tensor, structure: torch.Tensor, content: Any,
                  window: int) -> tuple[float, float]:
    """One step's UNet work with nothing around it, as one batched call each: the two video passes
    over the shot cut into whole windows, and the image pass over every frame (needed when ω_t ≠ 1).
    Returns (video passes, image pass) seconds."""
    from gen1_batch.model.sampler import stack_clips

    t = torch.tensor(500, device=latent.device)
    clips = latent.shape[2] // window
    batch = torch.cat([latent[:, :, i * window:(i + 1) * window] for i in range(clips)])
    batch_structure = torch.cat([structure[:, :, i * window:(i + 1) * window] for i in range(clips)])
    video = torch.ones(clips, dtype=torch.bool)
    frames = latent[0].transpose(0, 1).unsqueeze(2)
    frame_structure = structure[0].transpose(0, 1).unsqueeze(2)
    image = torch.zeros(len(frames), dtype=torch.bool)

    def video_passes() -> None:
        for _ in range(2):
            pipe._denoise(batch, t, stack_clips([content] * clips), batch_structure, video)

    return (timed(video_passes) * latent.shape[2] / (clips * window),  # per frame of the shot
            timed(lambda: pipe._denoise(frames, t, stack_clips([content] * len(frames)), frame_structure, image)))


def sampling_seconds(pipe: Any, structure: torch.Tensor, content: Any, null: Any, shape: tuple[int, ...],
                     spec: WindowSpec, steps: int, temporal_scale: float, max_batch: int) -> float:
    """The sampler on the whole shot: windows, guidance and scheduler steps (warmed up on one step:
    every step runs the same calls)."""
    def run(steps: int) -> None:
        scheduler = pipe.scheduler.__class__.from_config(pipe.scheduler.config)
        sample(pipe._denoise, scheduler, structure, content, null, steps=steps, content_scale=7.5,
               temporal_scale=temporal_scale, window=spec, generator=torch.Generator().manual_seed(1),
               latent_shape=shape, max_batch=max_batch, stats=SamplingStats())

    return timed(lambda: run(steps), warm_up=lambda: run(1))


def host_syncs(pipe: Any, structure: torch.Tensor, content: Any, null: Any, shape: tuple[int, ...],
               spec: WindowSpec) -> tuple[float, int]:
    """Device-to-host synchronisations (CUDA's sync debug mode) at ω_t = 1.5: per denoising step (a
    3-step run against a 1-step one) and before the loop."""
    import warnings

    def count(steps: int) -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                scheduler = pipe.scheduler.__class__.from_config(pipe.scheduler.config)
                sample(pipe._denoise, scheduler, structure, content, null, steps=steps, content_scale=7.5,
                       temporal_scale=1.5, window=spec, generator=torch.Generator().manual_seed(1),
                       latent_shape=shape, max_batch=8)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    one, three = count(1), count(3)
    return (three - one) / 2, one - (three - one) // 2


def measure(pipe: Any, width: int, height: int, frames: int, window: int, steps: int, max_batches: list[int],
            device: str, peak: float | None) -> None:
    from gen1_batch.media.synthetic import synthetic_frames

    factor = pipe.vae_scale_factor
    source = synthetic_frames(frames, width, height)
    depth = pipe.estimate_depth(source)
    conditioning = pipe.encode_content("a red car on a wet street", seed=0)
    structure = pipe.prepare_structure(depth, 2)
    content, null = pipe.prepare_conditioning(conditioning)
    latent = torch.randn(1, pipe.latent_channels, frames, height // factor, width // factor,
                         generator=torch.Generator().manual_seed(0)).to(device, pipe.unet.dtype)
    spec = WindowSpec(length=window, stride=window // 2, shift=False)

    # The UNet on one clip of a window, video mode, and on one frame in image mode.
    clip, clip_structure = latent[:, :, :window], structure[:, :, :window]
    t0 = time.perf_counter()
    pipe._denoise(clip, torch.tensor(500, device=device), content, clip_structure, torch.tensor([True]))
    sync()
    print(f"  first UNet call (with --compile: the compile for this shape): {time.perf_counter() - t0:.2f} s")
    video_flops = unet_flops(pipe._denoise, clip, clip_structure, content, True)
    video_seconds = timed(lambda: pipe._denoise(clip, torch.tensor(500, device=device), content, clip_structure,
                                                torch.tensor([True])), repeats=3)
    achieved = video_flops / video_seconds
    share = f" = {achieved / peak:.0%} of the dense bf16 peak" if peak else ""
    print(f"  UNet, one {window}-frame clip: {video_flops / 1e9:.1f} GFLOP in {video_seconds * 1e3:.1f} ms: "
          f"{achieved / 1e12:.3f} TFLOP/s{share}; windows overlap W/S = {window / spec.stride:.2f}")

    if torch.cuda.is_available():
        per_step, before = host_syncs(pipe, structure, content, null, tuple(latent.shape), spec)
        print(f"  device-to-host syncs (ω_t = 1.5): {per_step:g} per denoising step, {before} before the loop")

    # The floor: each step's passes as full batches, no windows (every frame once per pass). Memory
    # per --max-batch at ω_t = 1.5, the costlier guidance; ω_t = 1 at the largest batch only.
    # The plan's own cost: its video passes cover each frame `cover` times (W/S inside the shot), so
    # the sampler's time should be the floor's video passes × cover (+ the image pass when ω_t ≠ 1);
    # what lies above that is window overhead (small calls, blending, guidance, scheduler).
    cover = describe_plan(frames, spec, steps)["frame_evaluations_per_step"]
    video_floor, image_floor = (seconds * steps / frames for seconds in
                                floor_seconds(pipe, latent, structure, content, window))
    for temporal_scale in (1.0, 1.5):
        floor = video_floor + (image_floor if temporal_scale != 1.0 else 0.0)
        planned = video_floor * cover + (image_floor if temporal_scale != 1.0 else 0.0)
        for max_batch in max_batches if temporal_scale != 1.0 else max_batches[-1:]:
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            seconds = sampling_seconds(pipe, structure, content, null, tuple(latent.shape), spec, steps,
                                       temporal_scale, max_batch) / frames
            memory = (f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
                      if torch.cuda.is_available() else "")
            print(f"  sampling ω_t = {temporal_scale}, --max-batch {max_batch}: {seconds:.3f} s/frame ({steps} "
                  f"steps; UNet-only floor {floor:.3f} s/frame without overlap, {planned:.3f} with the plan's "
                  f"W/S = {cover:.2f}: window overhead {seconds / planned - 1:+.0%}){memory}")

    # The other models, per frame (structure: the depth through the VAE encoder for gen1-sd15, the
    # ControlNet's input for animatediff-depth).
    decode = timed(lambda: pipe.decode_latents(latent))
    structure_seconds = timed(lambda: pipe.prepare_structure(depth, 2))
    depth_seconds = timed(lambda: pipe.estimate_depth(source))
    print(f"  VAE decode {decode / frames:.4f} s/frame, structure {structure_seconds / frames:.4f} s/frame, "
          f"depth {depth_seconds / frames:.4f} s/frame")

    # The whole shot, as `gen1 edit` runs it.
    def edit(steps: int) -> None:
        pipe(source, prompt="a red car on a wet street", structure=2, temporal_scale=1.5, steps=steps, seed=0,
             window=spec)

    whole = timed(lambda: edit(steps), warm_up=lambda: edit(1))
    print(f"  whole {frames}-frame shot at ω_t = 1.5: {whole / frames:.3f} s/frame, "
          f"{whole / frames / planned:.2f}x the UNet-only floor of its window plan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", choices=["gen1-sd15", "animatediff-depth"])
    parser.add_argument("--size", action="append", help="WxH working size (repeatable; default 512x512, 448x256)")
    parser.add_argument("--window", action="append", type=int, help="frames per window (default 8 and 16)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--max-batch", action="append", type=int, help="clips per UNet call (default 1, 2, 4)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet first (as gen1 run --compile)")
    args = parser.parse_args()

    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    torch.set_grad_enabled(False)
    if gpu:
        name = torch.cuda.get_device_name()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        peak = datasheet_peak(name)
        measured = matmul_peak(device, dtype)
        print(f"{name}: {dtype}; dense bf16 peak {peak / 1e12 if peak else '?'} TFLOP/s (datasheet), "
              f"{measured / 1e12:.0f} TFLOP/s measured by an 8192² matmul")
        sizes = args.size or ["512x512", "448x256"]
        windows = args.window or [8, 16]
        frames, steps, max_batches = args.frames, args.steps, args.max_batch or [1, 2, 4]
    else:
        print("NOT GPU NUMBERS: no CUDA GPU here. This runs the tiny twins of the backends at 64x64 through the "
              "same code, to show the benchmark works; run it on a GPU for the table.")
        dtype, peak = torch.float32, None
        sizes, windows = args.size or ["64x64"], args.window or [8]
        frames, steps, max_batches = min(args.frames, 16), min(args.steps, 2), args.max_batch or [1, 8]
    for backend in args.backend or ["gen1-sd15", "animatediff-depth"]:
        pipe = build(backend, full=gpu).to(device, dtype)
        if args.compile:
            from gen1_batch.model.loading import compile_denoiser

            compile_denoiser(pipe)
        for size in sizes:
            width, height = map(int, size.split("x"))
            for window in windows:
                print(f"\n{backend}{'' if gpu else ' (tiny twin)'}, {width}x{height}, {frames} frames, "
                      f"window {window}:")
                measure(pipe, width, height, frames, window, steps, max_batches, device, peak)
        del pipe
        if gpu:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
