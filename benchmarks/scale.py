"""Thousands of tiny shots: do shots commit steadily from the first one, and does memory stay flat?

For each manifest size, runs `gen1 run` (a real CLI process, local Ray) on that many tiny shots
(all pointing at one synthetic clip: `--frames` frames at `--size`, 1 step) and measures:

* time to the first commit (the first report.json at its final path), from launch and from the
  moment Ray was up;
* commits over time (a text plot of shots committed per interval);
* peak object-store use (sampled every second in the driver) and peak driver RSS (VmHWM);
* seconds of overhead per shot: the steady interval between commits against the seconds the
  busiest stage computed per shot (the rest is scheduling, queuing, serialization, contention);
* the most shots ever in flight (decoded but not yet committed), from each report's timeline.

    python benchmarks/scale.py --shots 200 2000 5000 --time-limit 1500

A run still going after `--time-limit` seconds gets SIGINT (the job stops taking shots and
writes its summary) and its rate is measured over the time it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

MB = 1024**2
POLL_S = 0.5


def _child(stats_path: str, cli_args: list[str]) -> None:
    """Run the CLI in this process (it is the job's driver), sampling the object store meanwhile."""
    import atexit

    import ray

    stats = {"ray_up_at": None, "peak_object_store": 0, "peak_objects": 0}

    def save() -> None:
        Path(stats_path).write_text(json.dumps(stats))

    def sample() -> None:
        from ray._private.internal_api import get_memory_info_reply
        from ray._private.state import state

        while True:
            time.sleep(1.0)
            if not ray.is_initialized():
                continue
            if stats["ray_up_at"] is None:
                stats["ray_up_at"] = time.time()
            try:
                reply = get_memory_info_reply(state, timeout_seconds=5)
            except Exception:  # Ray is shutting down, or the raylet is busy: try again
                continue
            stats["peak_object_store"] = max(stats["peak_object_store"], reply.store_stats.object_store_bytes_used)
            stats["peak_objects"] = max(stats["peak_objects"], reply.store_stats.num_local_objects)
            save()

    atexit.register(save)
    threading.Thread(target=sample, daemon=True).start()
    from gen1_batch.cli import app

    app(args=cli_args)


def _peak_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def make_manifest(root: Path, shots: int, frames: int, width: int, height: int) -> Path:
    from gen1_batch.media.synthetic import write_synthetic_clip

    clip = root / "clip.mp4"
    if not clip.exists():
        write_synthetic_clip(str(clip), frames, width, height, Fraction(24), seed=1)
    manifest = root / f"shots{shots}.jsonl"
    manifest.write_text("".join(json.dumps({"shot_id": f"s{i:05d}", "video": clip.name, "prompt": "clay",
                                            "steps": 1}) + "\n" for i in range(shots)))
    return manifest


def run_one(root: Path, shots: int, args: argparse.Namespace) -> dict:
    manifest = make_manifest(root, shots, args.frames, *args.size)
    out = root / f"out{shots}"
    stats_path = root / f"stats{shots}.json"
    log_path = root / f"log{shots}.txt"
    cli = ["run", str(manifest), "--output", str(out), "--json"]
    t0 = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(stats_path), *cli], stdout=log, stderr=log)
        committed: dict[str, float] = {}
        pending = [f"s{i:05d}" for i in range(shots)]
        peak_rss, interrupted = 0, 0.0
        while True:
            done = proc.poll() is not None
            peak_rss = max(peak_rss, _peak_rss(proc.pid))
            now = time.time()
            still = []
            for shot in pending:
                if (out / shot / "report.json").exists():
                    committed[shot] = now - t0
                else:
                    still.append(shot)
            pending = still
            if done:
                break
            if not interrupted and now - t0 > args.time_limit:
                proc.send_signal(signal.SIGINT)  # stop taking shots, finish in-flight ones, write the summary
                interrupted = now
            elif interrupted and now - interrupted > 120:
                proc.kill()  # it did not stop on SIGINT
            time.sleep(POLL_S)
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    reports = [json.loads((out / s / "report.json").read_text()) for s in committed]
    result = {
        "shots": shots, "exit": proc.returncode, "wall": time.time() - t0, "interrupted": bool(interrupted),
        "committed": len(committed), "failed": sum(r["status"] != "succeeded" for r in reports),
        "times": sorted(committed.values()), "peak_rss": peak_rss,
        "ray_up": (stats["ray_up_at"] - t0) if stats.get("ray_up_at") else None,
        "models_up": models_up(reports, t0),
        "peak_object_store": stats.get("peak_object_store"), "peak_objects": stats.get("peak_objects"),
        "max_in_flight": max_in_flight(reports), "busiest_stage": busiest_stage(reports),
        "log_tail": log_path.read_text()[-1500:],
    }
    (root / f"result{shots}.json").write_text(json.dumps(result))
    return result


def models_up(reports: list[dict], t0: float) -> float | None:
    """Seconds from launch until the first model stage took its first shot (its actor was ready)."""
    starts = [r["timeline"]["depth"] - r["seconds"]["depth"] for r in reports if "depth" in (r.get("timeline") or {})]
    return min(starts) - t0 if starts else None


def max_in_flight(reports: list[dict]) -> int | None:
    """The most shots ever decoded but not yet committed, from the reports' timelines."""
    events = []
    for r in reports:
        timeline = r.get("timeline") or {}
        if "decode" in timeline and "write" in timeline:
            events += [(timeline["decode"], 1), (timeline["write"], -1)]
    if not events:
        return None
    level = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


def busiest_stage(reports: list[dict]) -> tuple[str, float] | None:
    import statistics

    ok = [r for r in reports if r["status"] == "succeeded"]
    if not ok:
        return None
    medians = {s: statistics.median(r["seconds"][s] for r in ok) for s in ok[0]["seconds"] if s != "total"}
    stage = max(medians, key=medians.get)
    return stage, medians[stage]


def steady_interval(times: list[float]) -> float | None:
    """Seconds between commits over the middle 80 % of them (start-up and the tail left out)."""
    if len(times) < 10:
        return None
    lo, hi = times[len(times) // 10], times[(len(times) * 9) // 10]
    n = (len(times) * 9) // 10 - len(times) // 10
    return (hi - lo) / n if n else None


def text_plot(times: list[float], wall: float, buckets: int = 20, width: int = 50) -> str:
    """Shots committed per interval, one line per interval."""
    if not times:
        return "    (nothing committed)"
    step = max(wall / buckets, 1e-9)
    counts = [0] * buckets
    for t in times:
        counts[min(int(t / step), buckets - 1)] += 1
    top = max(counts) or 1
    return "\n".join(f"    {i * step:7.0f}-{(i + 1) * step:5.0f} s {c:6d} {'#' * round(c / top * width)}"
                     for i, c in enumerate(counts))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, nargs="+", default=[200, 2000, 5000])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--size", type=lambda s: tuple(map(int, s.split("x"))), default=(32, 32), help="WxH")
    parser.add_argument("--time-limit", type=float, default=1500.0, help="seconds before a run gets SIGINT")
    parser.add_argument("--keep", help="keep the outputs and logs in a new folder under this one")
    args = parser.parse_args()

    print(f"tiny model, 1 step, {args.frames} frames at {args.size[0]}x{args.size[1]}, "
          f"{os.cpu_count()} CPUs (load average at start {os.getloadavg()[0]:.1f})", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gen1-scale-") as tmp:
        root = Path(tempfile.mkdtemp(prefix="gen1-scale-", dir=args.keep) if args.keep else tmp)
        for shots in args.shots:
            r = run_one(root, shots, args)
            rows.append(r)
            times, wall = r["times"], r["wall"]
            steady = steady_interval(times)
            busiest = r["busiest_stage"]
            overhead = steady - busiest[1] if steady and busiest else None
            r.update(steady=steady, overhead=overhead)
            print(f"\n{shots} shots: exit {r['exit']}{' (SIGINT at the time limit)' if r['interrupted'] else ''}, "
                  f"{r['committed']} committed ({r['failed']} failed) in {wall:.0f} s; "
                  f"load average now {os.getloadavg()[0]:.1f}", flush=True)
            print(text_plot(times, wall), flush=True)
            if r["exit"] not in (0, 130):
                print(r["log_tail"])

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print("\n| shots | Ray up | model stages up | first commit | first commit after model stages up | committed | "
          "wall | steady s/shot | busiest stage s/shot | overhead s/shot | most in flight | peak object store | "
          "peak driver RSS |")
    print("|" + "---|" * 13)
    for r in rows:
        first = r["times"][0] if r["times"] else None
        after_models = first - r["models_up"] if first is not None and r["models_up"] is not None else None
        busiest = r["busiest_stage"]
        print(f"| {r['shots']} | {num(r['ray_up'], '.0f')} s | {num(r['models_up'], '.0f')} s | "
              f"{num(first, '.0f')} s | {num(after_models, '.1f')} s | "
              f"{r['committed']}{' (stopped)' if r['interrupted'] else ''} | "
              f"{r['wall']:.0f} s | {num(r['steady'], '.3f')} | "
              f"{f'{busiest[1]:.3f} ({busiest[0]})' if busiest else '-'} | {num(r['overhead'], '.3f')} | "
              f"{r['max_in_flight'] if r['max_in_flight'] is not None else '-'} | "
              f"{num((r['peak_object_store'] or 0) / MB, '.1f')} MB | {r['peak_rss'] / MB:.0f} MB |")

if __name__ == "__main__":
    main()
