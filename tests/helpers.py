"""Helpers for tests: write a manifest, run the CLI as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def write_manifest(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def with_env(extra: dict | None) -> dict[str, str]:
    """This process's environment with `extra` over it; a None value unsets that variable."""
    import os

    return {k: v for k, v in {**os.environ, **(extra or {})}.items() if v is not None}


def gen1(*args: str, check: int | None = None, timeout: int = 600, env: dict | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess:
    """Run the CLI in a new process, as a user would (with extra environment variables, if any; None
    unsets one)."""
    import os

    environment = with_env(env)
    if cwd is not None:  # this checkout's package, wherever the command runs
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[1]),
                                                                  environment.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-m", "gen1_batch", *args], capture_output=True, text=True,
                            timeout=timeout, env=environment, cwd=cwd)
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def write_finished_shot(output: str, shot, model: str = "tiny", edit: bytes = b"an edit",
                        max_batch: int | None = None, ocio: str | None = None) -> dict:
    """What a run leaves for a shot that succeeded, without running it: its edit (a movie format) and
    a report recording its parameters, model, UNet batch, OCIO config, files and sources."""
    from gen1_batch import storage
    from gen1_batch.fingerprint import record_files, shot_sources
    from gen1_batch.media import output_name
    from gen1_batch.media.colour import config_id, config_source
    from gen1_batch.model.loading import describe_model
    from gen1_batch.report.schema import report_url, shot_folder

    ref = describe_model(model)

    folder = shot_folder(output, shot.shot_id)
    url = storage.join(folder, output_name(shot.shot_id, shot.output_format))
    storage.write_bytes_atomic(url, edit)
    report = {"shot_id": shot.shot_id, "status": "succeeded", "params_hash": shot.params_hash(),
              "params": shot.params(), "model": {"key": ref.key}, "seconds": {},
              "sampling": {"max_batch": max_batch or ref.settings["max_batch"]},
              "input": {"colour": {"config_id": config_id(config_source(ocio))}},
              "output": {"url": url, "bytes": len(edit)}, "sources": shot_sources(shot),
              "files": record_files(folder, {"url": url}, [])}
    storage.write_json_atomic(report_url(output, shot.shot_id), report)
    return report


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connections to it are refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG of a few bytes whose header claims width×height pixels: a decompression bomb to Pillow."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def encode_movie(path: str, frames, codec: str, pix_fmt: str, rate=24, options: dict | None = None,
                 timecode: str | None = None, pts: list[int] | None = None,
                 display: tuple[float, bool, bool] | None = None) -> str:
    """Encode uint8 RGB frames with any FFmpeg codec, to make the sources studios have: `pts` gives
    each frame's time in periods of `rate` (a variable frame rate), `display` a display matrix as
    (degrees counter-clockwise, hflip, vflip), what a phone writes."""
    import av

    with av.open(path, "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        stream.options = options or {}
        if timecode:
            stream.metadata["timecode"] = timecode
        if display:
            stream.set_display_rotation(*display)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            frame.pts = pts[i] if pts else i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def damage_packets(source: str, target: str, packets: set[int]) -> str:
    """Copy a movie packet for packet, overwriting the second half of the given packets (counted in
    file order) with zeros: pictures a decoder fails on."""
    import av

    with av.open(source) as src, av.open(target, "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        stream.metadata.update(src.streams.video[0].metadata)  # the timecode among them
        index = 0
        for packet in src.demux(src.streams.video[0]):
            if not packet.size:
                continue
            if index in packets:
                data = bytearray(bytes(packet))
                data[len(data) // 2:] = bytes(len(data) - len(data) // 2)
                broken = av.Packet(bytes(data))
                broken.pts, broken.dts, broken.time_base = packet.pts, packet.dts, packet.time_base
                broken.is_keyframe = packet.is_keyframe
                packet = broken
            packet.stream = stream
            out.mux(packet)
            index += 1
    return target


def encode_sequence(pattern: str, frames, codec: str, pix_fmt: str, first: int = 1001) -> str:
    """Write uint8 RGB frames as numbered images (`pattern` with %04d), converted to `pix_fmt`."""
    import av

    with av.open(pattern, "w", format="image2", options={"start_number": str(first)}) as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if codec == "exr":
            stream.options = {"format": "half"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if codec == "exr":
                import numpy as np

                frame = av.VideoFrame.from_ndarray((image / 255.0).astype(np.float32), format="gbrpf32le")
            frame = frame.reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return pattern


def browser_dom(url: str) -> str:
    """The page's DOM after it loaded and ran its scripts, in headless Chromium (Debian's package)."""
    import os
    import shutil
    import tempfile

    import pytest

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="gen1-chromium-") as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def write_tiny_shots(root: Path, count: int) -> str:
    """A manifest of `count` tiny shots (3 frames at 32×32, one step), all of one synthetic clip:
    many shots that each cost little, to see how the job flows."""
    from fractions import Fraction

    from gen1_batch.media.synthetic import write_synthetic_clip

    write_synthetic_clip(str(root / "tiny.mp4"), 3, 32, 32, Fraction(24), seed=1)
    return write_manifest(root / "tiny.jsonl", [{"shot_id": f"s{i:03d}", "video": "tiny.mp4", "prompt": "clay",
                                                 "steps": 1} for i in range(count)])


def start_gen1(*args: str, log: Path) -> subprocess.Popen:
    """Start the CLI in the background in its own process group (as a terminal runs a command, so
    that a signal can reach the whole group like Ctrl-C does); stdout and stderr go to `log`.out/.err."""
    with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:  # the child keeps its own copies
        return subprocess.Popen([sys.executable, "-m", "gen1_batch", *args], stdout=stdout, stderr=stderr,
                                start_new_session=True)


def wait_for_reports(out: Path, count: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    """Until `count` shots of a running job have committed their report.json."""
    import time

    deadline = time.monotonic() + timeout
    while len(list(out.glob("*/report.json"))) < count:
        assert proc.poll() is None, f"the job ended (exit {proc.returncode}) before {count} shot(s) committed"
        assert time.monotonic() < deadline, f"no {count} committed shot(s) after {timeout} s"
        time.sleep(0.2)
