"""Training speed: samples/s and s/step per worker.

    python benchmarks/train_step.py            # tiny on CPU, 1 vs 2 workers (local Ray), then the GPU part
    python benchmarks/train_step.py --gpu      # only gen1-sd15 at full size with random weights, 448x256 x 8
                                               # frames, with and without gradient checkpointing (CUDA)

The CPU numbers come from the run's own metrics.jsonl (steps after the first, which waits for the
preprocessing actors to load). The GPU measurement times the UNet's forward and backward alone.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time


def cpu(steps: int = 12) -> None:
    from gen1_batch.media.synthetic import write_synthetic_clip
    from gen1_batch.train.run import TrainOptions, train

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(2):
            write_synthetic_clip(f"{tmp}/clip{i}.mp4", frames=24, width=96, height=64, seed=i)
        with open(f"{tmp}/train.jsonl", "w") as f:
            f.writelines(json.dumps({"video": f"{tmp}/clip{i}.mp4"}) + "\n" for i in range(2))
        for workers in (1, 2):
            out = f"{tmp}/run{workers}"
            train(TrainOptions(recipe="tiny", data=f"{tmp}/train.jsonl", output=out, steps=steps, workers=workers,
                               overrides={"validate_every": 0}), say=lambda line: None)
            with open(f"{out}/metrics.jsonl") as f:
                records = [json.loads(line) for line in f if '"loss"' in line][1:]
            seconds = sum(r["seconds"] for r in records) / len(records)
            samples = sum(r["samples"] for r in records) / len(records)
            print(f"tiny, {workers} CPU worker(s): {seconds:.3f} s/step, {samples / seconds:.1f} samples/s "
                  f"({samples / seconds / workers:.1f} per worker), batch 2 per worker")


def gpu(steps: int = 5) -> None:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU here: the gen1-sd15 measurement needs one; on a GPU machine run "
              "`python benchmarks/train_step.py --gpu`")
        return
    from gen1_batch.model.presets import build_gen1_sd15

    for checkpointing in (False, True):
        unet = build_gen1_sd15(["unet"], random_init=True)["unet"].cuda().train()
        if checkpointing:
            unet.enable_gradient_checkpointing()
        opt = torch.optim.AdamW(unet.parameters(), lr=1e-5)
        x = torch.randn(1, 4, 8, 32, 56, device="cuda")  # 448x256 x 8 frames, latents
        torch.cuda.reset_peak_memory_stats()
        for i in range(steps + 1):
            if i == 1:
                torch.cuda.synchronize()
                start = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = unet(x, torch.tensor([500], device="cuda"), torch.randn(1, 768, device="cuda"), x).sample
            out.float().square().mean().backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        per_step = (time.perf_counter() - start) / steps
        print(f"gen1-sd15 448x256x8, batch 1, checkpointing {checkpointing}: {per_step:.3f} s/step, "
              f"{1 / per_step:.2f} clips/s, peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
        del unet, opt


if __name__ == "__main__":
    if "--gpu" not in sys.argv:
        cpu()
    gpu()
