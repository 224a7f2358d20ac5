"""Every command, against what goes wrong in real studios (no credentials, no network, a package not
installed, a scheme nobody knows, a decompression bomb, malformed reports, an output that is a
folder): one line naming the file or URL and the reason, never a traceback, and the documented exit
code. Run as a user would (new processes, in parallel to keep it quick), with no network at all:
every store and hub points at a closed port on 127.0.0.1."""

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gen1_batch.media.synthetic import write_synthetic_clip
from tests.helpers import bomb_png, closed_port, gen1, write_manifest

PORT = closed_port()
NOWHERE = f"http://127.0.0.1:{PORT}"
NO_GCSFS = importlib.util.find_spec("gcsfs") is None


def offline_env(home: Path) -> dict:
    """No credentials anywhere, every endpoint refused (never a non-loopback address: no cloud
    metadata service either)."""
    return {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None, "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE":
            str(home / "none"), "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": NOWHERE,
            "HF_ENDPOINT": NOWHERE, "HF_HUB_OFFLINE": "0", "HF_HOME": str(home / "hf"), "RAY_ADDRESS": None,
            "COLUMNS": "80"}  # a narrow terminal: long lines must still come out whole


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    write_synthetic_clip(str(root / "clip.mp4"), frames=3, width=32, height=32)
    (root / "bomb.png").write_bytes(bomb_png())
    (root / "plate").mkdir()
    for number in (1001, 1002):
        (root / "plate" / f"plate.{number}.png").write_bytes(bomb_png())
    (root / "folder.mp4").mkdir()
    rows = [{"shot_id": "s3", "video": "s3://studio/sh010.mp4", "prompt": "p"},
            {"shot_id": "ftp", "video": f"ftp://127.0.0.1:{PORT}/sh020.mp4", "prompt": "p"},
            {"shot_id": "odd", "video": "nosuch://bucket/sh030.mp4", "prompt": "p"},
            {"shot_id": "http", "video": f"{NOWHERE}/sh040.mp4", "prompt": "p"},
            {"shot_id": "good", "video": "clip.mp4", "prompt": "p"}]
    if NO_GCSFS:
        rows.append({"shot_id": "gs", "video": "gs://studio/sh050.mp4", "prompt": "p"})
    write_manifest(root / "m.jsonl", rows)
    out = root / "out"
    (out / "good").mkdir(parents=True)
    (out / "good" / "report.json").write_text(json.dumps({"shot_id": "good", "status": "succeeded"}))
    (out / "bad").mkdir()
    (out / "bad" / "report.json").write_text(json.dumps({"shot_id": "bad"}))  # no status
    (out / "list").mkdir()
    (out / "list" / "report.json").write_text("[]")
    return root


# name: (arguments, exit code, what the one line says)
COMMANDS = {
    "validate rows": (["validate", "m.jsonl"], 2, [
        ["row 1, column 'video': s3://studio/sh010.mp4: no S3 credentials found"],
        [f"row 2, column 'video': ftp://127.0.0.1:{PORT}/sh020.mp4: cannot connect", "connection refused"],
        ["row 3, column 'video': nosuch://bucket/sh030.mp4: unknown storage scheme nosuch://"],
        [f"row 4, column 'video': {NOWHERE}/sh040.mp4: cannot connect to 127.0.0.1:{PORT}: connection refused"],
        *([["row 6, column 'video': gs://studio/sh050.mp4: a package it needs is not installed", "gcsfs"]]
          if NO_GCSFS else [])]),
    "validate s3 manifest": (["validate", "s3://studio/m.jsonl"], 2, [["s3://studio/m.jsonl: no S3 credentials"]]),
    "run s3 manifest": (["run", "s3://studio/m.jsonl", "--output", "out2"], 2,
                        [["s3://studio/m.jsonl: no S3 credentials"]]),
    "submit s3 manifest": (["submit", "s3://studio/m.jsonl", "--output", "s3://studio/out", "--address", NOWHERE], 2,
                           [["s3://studio/m.jsonl: no S3 credentials"]]),
    "status": (["status", "gen1-0123", "--address", NOWHERE], 2, [[f"cannot reach the Ray Jobs API at {NOWHERE}"]]),
    "logs": (["logs", "gen1-0123", "--address", NOWHERE], 2, [[f"cannot reach the Ray Jobs API at {NOWHERE}"]]),
    "edit bomb image prompt": (["edit", "clip.mp4", "--prompt", "x", "--image-prompt", "bomb.png", "-o", "a.mp4"], 1,
                               [["bomb.png: not a readable image (image too large to decode safely"]]),
    "edit bomb frame": (["edit", "plate/plate.####.png", "--prompt", "x", "-o", "b.mp4"], 1,
                        [["plate.1001.png: frame 1001 cannot be decoded"]]),
    "edit s3 source": (["edit", "s3://studio/sh010.mp4", "--prompt", "x", "-o", "c.mp4"], 1,
                       [["s3://studio/sh010.mp4: no S3 credentials found"]]),
    "edit refused http source": (["edit", f"{NOWHERE}/sh040.mp4", "--prompt", "x", "-o", "d.mp4"], 1,
                                 [[f"{NOWHERE}/sh040.mp4: cannot connect to 127.0.0.1:{PORT}: connection refused"]]),
    "edit output is a folder": (["edit", "clip.mp4", "--prompt", "x", "-o", "folder.mp4"], 2,
                                [["--output folder.mp4: it is a folder"]]),
    "report malformed": (["report", "out", "--html"], 0, [["out/bad/report.json: not a shot report (no status)"],
                                                          ["out/list/report.json: not a shot report"]]),
    "report s3": (["report", "s3://studio/out"], 2, [["s3://studio/out: no S3 credentials found"]]),
    "models download": (["models", "download", "animatediff-depth", "models/ad"], 1,
                        [[f"cannot reach the Hugging Face hub (cannot connect to {NOWHERE}/api/models/",
                          "connection refused", "stable-diffusion-v1-5/stable-diffusion-v1-5"]]),
}


@pytest.fixture(scope="module")
def results(studio):
    env = offline_env(studio)

    def run(args):
        return gen1(*args, env=env, timeout=300, cwd=studio)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(COMMANDS, pool.map(run, [c[0] for c in COMMANDS.values()]), strict=True))


@pytest.mark.parametrize("name", COMMANDS)
def test_each_failure_is_one_line_naming_what_failed_and_the_documented_exit_code(name, results):
    _, code, lines = COMMANDS[name]
    result = results[name]
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output and "╭" not in result.stderr, output  # no traceback, plain or rich
    printed = output.splitlines()
    for fragments in lines:
        assert len([line for line in printed if all(f in line for f in fragments)]) == 1, (fragments, output)
    if code and name.split()[0] not in ("validate", "run", "submit"):  # those list problems under a heading
        assert result.stderr.count("\n") == 1, result.stderr  # the one line is all it says


def test_the_shots_reports_are_still_listed_and_indexed(results, studio):
    assert "good" in results["report malformed"].stdout
    assert (studio / "out" / "index.html").exists()


def test_a_failed_download_leaves_no_model_folder(results, studio):
    assert not (studio / "models").exists() or list((studio / "models").iterdir()) == []
