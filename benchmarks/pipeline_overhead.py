"""How much does the Ray Data pipeline cost on top of the model work?

Runs N synthetic shots twice with the same models (default: the tiny preset on CPU):

1. a plain sequential loop in this process: decode → depth → content → diffusion → encode, one shot
   after the other, the models loaded once;
2. the batch job on a local Ray started in this process (what `gen1 run` does).

and prints measured seconds and ratios:

* job wall time against the sum of the seconds every stage reported computing (below 1 means the
  stages overlapped), and against the sequential loop;
* the pipeline's own overhead in steady state: shots finish one every `wall per shot` seconds once
  the pipeline is full, while the busiest stage needs `bottleneck` seconds per shot; the rest
  (scheduling, serialization, object transfers, contention) is the overhead.
  Start-up (Ray, worker processes, model loading) is printed separately: it is paid once per job.

    python benchmarks/pipeline_overhead.py --shots 20 --frames 48 --size 96x64
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path


def make_job(root: Path, shots: int, frames: int, width: int, height: int) -> str:
    from gen1_batch.media.synthetic import write_synthetic_clip

    rows = []
    for i in range(shots):
        write_synthetic_clip(str(root / f"shot{i:03d}.mp4"), frames, width, height, Fraction(24), seed=i)
        rows.append({"shot_id": f"shot{i:03d}", "video": f"shot{i:03d}.mp4", "prompt": f"prompt {i}"})
    manifest = root / "shots.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(manifest)


def sequential(shots: list, model: str, output: Path) -> dict:
    """The same work without Ray: one process, models loaded once, shots one after the other."""
    from gen1_batch.media import output_name, read_video, write_video
    from gen1_batch.model.loading import load_pipeline

    t0 = time.perf_counter()
    pipe = load_pipeline(model)
    load = time.perf_counter() - t0
    s = pipe.settings
    seconds = {k: 0.0 for k in ("decode", "depth", "content", "diffusion", "write")}
    t_start = time.perf_counter()
    for shot in shots:
        t = time.perf_counter()
        frames, info = read_video(shot.video, shot.frame_start, shot.frame_end, size=(shot.width, shot.height),
                                  side=s["default_resolution"], multiple=s["resolution_multiple"])
        seconds["decode"] += (t1 := time.perf_counter()) - t
        depth = pipe.estimate_depth(frames)
        seconds["depth"] += (t2 := time.perf_counter()) - t1
        conditioning = pipe.encode_content(shot.prompt, None, shot.negative_prompt, seed=shot.seed)
        seconds["content"] += (t3 := time.perf_counter()) - t2
        edited, _ = pipe.generate(depth, conditioning, structure=shot.structure, content_scale=shot.content_scale,
                                  temporal_scale=shot.temporal_scale, steps=shot.steps, seed=shot.seed)
        seconds["diffusion"] += (t4 := time.perf_counter()) - t3
        write_video(edited, str(output / shot.shot_id / output_name(shot.shot_id, "mp4")), info.rate, info.width,
                    info.height)
        seconds["write"] += time.perf_counter() - t4
    return {"load": load, "total": time.perf_counter() - t_start, "stages": seconds}


def with_ray(shots: list, job) -> dict:
    import ray

    from gen1_batch.pipeline import resolve_resources, run_shots, start_ray

    t0 = time.perf_counter()
    start_ray(None)
    ray_init = time.perf_counter() - t0
    job = dataclasses.replace(job, resources=resolve_resources({}))
    arrivals: list[float] = []
    t_job = time.perf_counter()
    reports = run_shots(shots, job, lambda report: arrivals.append(time.perf_counter() - t_job))
    wall = time.perf_counter() - t_job
    ray.shutdown()
    failed = [r for r in reports.values() if r["status"] != "succeeded"]
    if failed:
        raise SystemExit(f"{len(failed)} shot(s) failed: {failed[0]['error']}")
    stages = {k: sum(r["seconds"][k] for r in reports.values())
              for k in ("decode", "depth", "content", "diffusion", "write")}
    per_shot = {k: statistics.median(r["seconds"][k] for r in reports.values()) for k in stages}
    return {"ray_init": ray_init, "wall": wall, "arrivals": sorted(arrivals), "stages": stages,
            "median_per_shot": per_shot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=20)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="96x64", help="source WxH")
    parser.add_argument("--model", default="tiny")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))

    from gen1_batch.config import JobConfig
    from gen1_batch.manifest import load_manifest
    from gen1_batch.model.loading import describe_model

    with tempfile.TemporaryDirectory(prefix="gen1-bench-") as tmp:
        root = Path(tmp)
        manifest = make_job(root, args.shots, args.frames, width, height)
        ref = describe_model(args.model)
        shots = load_manifest(manifest, ref.settings)
        print(f"{args.shots} shots of {args.frames} frames at {args.size}, model {args.model}, "
              f"{shots[0].steps} steps")
        seq = sequential(shots, args.model, root / "sequential")
        job = JobConfig(manifest=manifest, output=str(root / "ray"), model=ref)
        ray_run = with_ray(shots, job)

    stage_sum = sum(ray_run["stages"].values())
    arrivals = ray_run["arrivals"]
    steady = (arrivals[-1] - arrivals[0]) / (len(arrivals) - 1) if len(arrivals) > 1 else float("nan")
    # The busiest stage in steady state, by its median seconds per shot (the first shots also pay
    # for warm-up and for sharing the cores with workers that are still starting).
    median = ray_run["median_per_shot"]
    bottleneck_stage = max(median, key=median.get)
    bottleneck = median[bottleneck_stage]
    seq_per_shot = seq["total"] / args.shots
    print("\nsequential loop (one process, no Ray)")
    print(f"  model load          {seq['load']:8.2f} s")
    print(f"  {args.shots} shots            {seq['total']:8.2f} s   ({seq_per_shot:.3f} s/shot)")
    print("  per stage           " + ", ".join(f"{k} {v:.2f}" for k, v in seq["stages"].items()))
    print("\nRay Data job (local Ray in this process)")
    print(f"  ray.init            {ray_run['ray_init']:8.2f} s")
    print(f"  job wall            {ray_run['wall']:8.2f} s   (first shot done at {arrivals[0]:.2f} s: "
          "workers start, models load, the pipeline fills)")
    stage_detail = ", ".join(f"{k} {v:.2f}" for k, v in ray_run["stages"].items())
    print(f"  stage seconds, sum  {stage_sum:8.2f} s   {stage_detail}")
    print("  median s/shot       " + ", ".join(f"{k} {v:.3f}" for k, v in median.items()))
    print("\nratios")
    print(f"  job wall / sum of stage seconds      {ray_run['wall'] / stage_sum:6.3f}")
    print(f"  job wall / sequential loop           {ray_run['wall'] / seq['total']:6.3f}   "
          f"(with model load: {(ray_run['wall'] + ray_run['ray_init']) / (seq['total'] + seq['load']):.3f})")
    print(f"  steady state: one shot every {steady:.3f} s; busiest stage ({bottleneck_stage}) "
          f"needs {bottleneck:.3f} s/shot")
    print(f"  pipeline overhead in steady state    {max(0.0, 1 - bottleneck / steady):6.1%} of wall time")


if __name__ == "__main__":
    main()
