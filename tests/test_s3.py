"""End to end on object storage: manifest, movies, a sequence and outputs on s3:// (moto's S3 server on
127.0.0.1), read and written by the Ray worker processes, as a studio's nightly job would."""

import json
import os
import socket
from fractions import Fraction

import fsspec
import pyarrow.parquet as pq
import pytest

from gen1_batch.media import read_video, write_video
from gen1_batch.media.synthetic import synthetic_frames
from tests.helpers import gen1

moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("studio")
    yield env, fs
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    server.stop()


@pytest.fixture(scope="module")
def job(s3, tmp_path_factory):
    env, fs = s3
    write_video(synthetic_frames(10, 64, 48, seed=1), "s3://studio/jobs/clips/street.mp4", Fraction(24000, 1001),
                timecode="01:00:00:00")
    write_video(synthetic_frames(6, 48, 32, seed=2), "s3://studio/jobs/plates/plate.####.exr", 24, "exr")
    rows = [
        {"shot_id": "street", "video": "clips/street.mp4", "prompt": "neon", "frame_start": 2, "frame_end": 8},
        {"shot_id": "plate", "video": "plates/plate.####.exr", "prompt": "clay", "output_format": "exr",
         "fps": "24000/1001", "timecode": "02:00:00:00"},
        {"shot_id": "missing", "video": "clips/nowhere.mp4", "prompt": "x"},
    ]
    fs.pipe("studio/jobs/night.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    result = gen1("run", "s3://studio/jobs/night.jsonl", "--output", "s3://studio/renders/night", "--json", env=env)
    return fs, result


def test_the_job_runs_on_s3_and_reports_the_missing_video(job):
    fs, result = job
    assert result.returncode == 1, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert (counts["succeeded"], counts["failed"]) == (2, 1)
    report = json.loads(fs.cat("studio/renders/night/missing/report.json"))
    assert "s3://studio/jobs/clips/nowhere.mp4: file not found" in report["error"]["message"]


def test_a_movie_comes_back_with_its_range_rate_and_timecode(job):
    _, info = read_video("s3://studio/renders/night/street/street.mp4")
    assert (info.frames, info.rate, info.timecode) == (7, Fraction(24000, 1001), "01:00:00:02")


def test_a_sequence_comes_back_with_its_numbers_and_half_floats(job):
    fs, _ = job
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls("studio/renders/night/plate"))
    assert [n for n in names if n.endswith(".exr")] == [f"plate.{n}.exr" for n in range(1001, 1007)]
    assert {"report.json", "report.html", "preview.mp4", "contact.jpg"} <= set(names)
    _, info = read_video("s3://studio/renders/night/plate/plate.####.exr")
    assert (info.frame_start, info.frame_end, info.float_pixels, info.timecode) == (1001, 1006, True, "02:00:00:00")


def test_summary_results_and_no_temporary_keys_on_s3(job):
    fs, _ = job
    summary = json.loads(fs.cat("studio/renders/night/summary.json"))
    assert summary["counts"]["shots"] == 3
    with fs.open("studio/renders/night/results.parquet", "rb") as f:
        assert pq.read_table(f).num_rows == 3
    assert not [k for k in fs.find("studio/renders") if ".tmp-" in k]
