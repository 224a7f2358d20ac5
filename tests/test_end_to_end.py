"""`gen1 run` end to end on a local Ray, in new processes as a user runs it: good shots, a missing
video and a corrupt file; then the same command again."""

import json
import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from gen1_batch.media import read_video
from gen1_batch.media.synthetic import synthetic_frames, write_synthetic_clip
from gen1_batch.shot import default_seed
from tests.helpers import browser_dom, gen1, write_manifest

GOOD = {  # shot -> (frames, width, height, fps, range) of its source
    "street": (12, 64, 48, Fraction(24000, 1001), None),
    "yard": (10, 96, 64, Fraction(25), None),
    "dolly": (20, 80, 48, Fraction(30), (5, 14)),
}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("job")
    for i, (name, (frames, w, h, fps, _)) in enumerate(GOOD.items()):
        write_synthetic_clip(str(root / f"{name}.mp4"), frames, w, h, fps, seed=i)
    Image.fromarray(synthetic_frames(1, 40, 40, seed=9)[0]).save(root / "look.png")
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not really a video")
    manifest = write_manifest(root / "shots.jsonl", [
        {"shot_id": "street", "video": "street.mp4", "prompt": "neon street at night"},
        {"shot_id": "yard", "video": "yard.mp4", "image_prompt": "look.png", "structure": 5, "temporal_scale": 1.5},
        {"shot_id": "dolly", "video": "dolly.mp4", "prompt": "clay", "frame_start": 5, "frame_end": 14},
        {"shot_id": "missing", "video": "nowhere.mp4", "prompt": "x"},
        {"shot_id": "corrupt", "video": "corrupt.mp4", "prompt": "x"},
    ])
    out = root / "out"
    first = gen1("run", manifest, "--output", str(out))
    snapshot = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    second = gen1("run", manifest, "--output", str(out), "--json")
    return {"root": root, "out": out, "manifest": manifest, "first": first, "second": second, "snapshot": snapshot}


def report(job, shot_id):
    return json.loads((job["out"] / shot_id / "report.json").read_text())


def test_the_job_finishes_with_exit_1_because_two_shots_failed(job):
    assert job["first"].returncode == 1, job["first"].stderr
    assert "3 succeeded, 2 failed" in job["first"].stdout
    # Each failure is one line naming the shot, the file and the reason, however long (logs are grepped).
    lines = job["first"].stdout.splitlines()
    assert any(ln.strip().startswith("failed missing at decode") and "nowhere.mp4: file not found" in ln
               for ln in lines), job["first"].stdout
    assert any(ln.strip().startswith("failed corrupt at decode") and ln.rstrip().endswith(")") for ln in lines)


@pytest.mark.parametrize("shot_id", list(GOOD))
def test_each_good_shot_has_its_video_with_the_source_ranges_frames_rate_and_size(job, shot_id):
    frames, w, h, fps, frame_range = GOOD[shot_id]
    expected_frames = frame_range[1] - frame_range[0] + 1 if frame_range else frames
    path = job["out"] / shot_id / f"{shot_id}.mp4"
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        decoded = sum(1 for _ in c.decode(s))
        assert (s.codec_context.name, s.average_rate, decoded) == ("h264", fps, expected_frames)
        assert (s.codec_context.width, s.codec_context.height) == (w, h)
    if shutil.which("ffprobe"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                                "-show_entries", "stream=nb_read_frames,r_frame_rate", "-of", "json", str(path)],
                               capture_output=True, text=True, check=True)
        stream = json.loads(probe.stdout)["streams"][0]
        assert (Fraction(stream["r_frame_rate"]), int(stream["nb_read_frames"])) == (fps, expected_frames)


@pytest.mark.parametrize("shot_id", list(GOOD))
def test_a_good_shots_report_says_what_was_done(job, shot_id):
    r = report(job, shot_id)
    assert (r["schema_version"], r["status"], r["error"]) == (3, "succeeded", None)
    assert r["input"]["frames"] == r["output"]["frames"] and r["input"]["fps"] == r["output"]["fps"]
    assert r["params"]["steps"] == 4 and r["seed"] == default_seed(shot_id)  # tiny's default steps
    assert r["model"]["id"] == "tiny" and r["model"]["random_weights"] is True and r["model"]["weights"] == "random"
    assert len(r["model"]["components"]) == 9 and r["model"]["fingerprint"]
    assert all(r["seconds"][s] > 0 for s in ("decode", "depth", "content", "diffusion", "write"))
    assert r["sampling"]["windows"]["length"] == 8 and r["sampling"]["unet_forwards"] > 0
    assert r["output"]["url"].endswith(f"{shot_id}/{shot_id}.mp4")


def test_yards_parameters_come_from_its_row_and_the_image_prompt(job):
    params = report(job, "yard")["params"]
    assert (params["structure"], params["temporal_scale"], params["prompt"]) == (5, 1.5, None)
    assert params["image_prompt"].endswith("look.png")


@pytest.mark.parametrize("shot_id, file, reason", [("missing", "nowhere.mp4", "file not found"),
                                                    ("corrupt", "corrupt.mp4", "not a readable video")])
def test_a_broken_shot_gets_a_failed_report_naming_the_file_and_nothing_else(job, shot_id, file, reason):
    r = report(job, shot_id)
    assert (r["status"], r["error"]["stage"], r["error"]["type"]) == ("failed", "decode", "MediaError")
    assert file in r["error"]["message"] and reason in r["error"]["message"]
    assert sorted(p.name for p in (job["out"] / shot_id).iterdir()) == ["report.html", "report.json"]


def test_summary_and_results_have_one_row_per_shot(job):
    summary = json.loads((job["out"] / "summary.json").read_text())
    results = pq.read_table(job["out"] / "results.parquet").to_pylist()
    assert sorted(r["shot_id"] for r in results) == sorted([*GOOD, "missing", "corrupt"])
    statuses = {r["shot_id"]: r["status"] for r in results}
    assert statuses["street"] == "succeeded" and statuses["corrupt"] == "failed"
    assert {f["shot_id"] for f in summary["failed"]} == {"missing", "corrupt"}


def test_no_temporary_file_is_left_anywhere(job):
    assert not [p for p in job["out"].rglob("*") if ".tmp-" in p.name]


def test_running_again_skips_the_good_shots_and_redoes_only_the_failed(job):
    second = job["second"]
    assert second.returncode == 1, second.stderr
    assert json.loads(second.stdout)["counts"] == {"shots": 5, "succeeded": 3, "failed": 2, "ran": 2, "skipped": 3,
                                                   "not_run": 0}
    assert "2 to edit, 3 skipped" in second.stderr
    for shot_id in GOOD:  # untouched: no model ran for them
        for name in ("report.json", f"{shot_id}.mp4"):
            path = job["out"] / shot_id / name
            assert path.stat().st_mtime_ns == job["snapshot"][path]
    results = {r["shot_id"]: r["ran"] for r in pq.read_table(job["out"] / "results.parquet").to_pylist()}
    assert results == {"street": False, "yard": False, "dolly": False, "missing": True, "corrupt": True}


def test_gen1_report_lists_every_shot_and_the_failures(job):
    rows = json.loads(gen1("report", str(job["out"]), "--json", check=0).stdout)
    assert len(rows) == 5
    failed = gen1("report", str(job["out"]), "--failed", check=0).stdout
    assert "nowhere.mp4" in failed and "street" not in failed


def test_gen1_edit_runs_the_same_model_code_as_the_batch(job, tmp_path):
    """One shot through `gen1 edit` (no Ray) gives the batch job's video for the same parameters.

    Bit-identity of the two code paths is tested in tests/stages/test_models.py. Here the actors run
    torch on other thread counts (rounding differs by about 1e-6), and H.264 turns that into small
    differences in a few frames; a different edit (another seed) differs by about 40 levels.
    """
    out = tmp_path / "street.mp4"
    gen1("edit", str(job["root"] / "street.mp4"), "--prompt", "neon street at night", "--seed",
         str(default_seed("street")), "--output", str(out), check=0)
    single, _ = read_video(str(out), size=(64, 48))
    batch, _ = read_video(str(job["out"] / "street" / "street.mp4"), size=(64, 48))
    per_frame = np.abs(single.astype(int) - batch.astype(int)).mean(axis=(1, 2, 3))
    assert per_frame.max() < 2, per_frame


def test_the_index_page_lists_every_shot_in_a_browser(job):
    dom = browser_dom((job["out"] / "index.html").as_uri())
    for shot_id in [*GOOD, "missing", "corrupt"]:
        assert f'href="{shot_id}/report.html"' in dom
    assert "5 of 5 shots" in dom
    assert dom.count('<tr class="failed">') == 2


def test_a_shot_page_shows_its_images_and_clip_in_a_browser(job, tmp_path):
    dom = browser_dom((job["out"] / "yard" / "report.html").as_uri())
    assert 'src="contact.jpg"' in dom and 'src="reference.jpg"' in dom and 'src="preview.mp4"' not in dom
    assert '<video src="yard.mp4"' in dom
    assert 'data-missing="1"' not in dom  # every picture loaded
    broken = tmp_path / "yard"
    shutil.copytree(job["out"] / "yard", broken)
    (broken / "contact.jpg").unlink()
    assert 'data-missing="1"' in browser_dom((broken / "report.html").as_uri())


def test_reports_carry_the_metrics(job):
    metrics = report(job, "yard")["metrics"]
    assert 0 < metrics["frame_consistency"] <= 1 and metrics["structure_error"] >= 0
    assert "reference_consistency" in metrics and "prompt_consistency" not in metrics
    assert "prompt_consistency" in report(job, "street")["metrics"]
