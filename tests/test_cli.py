"""The CLI in-process (no Ray needed): validate, dry runs, resume decisions, report, models."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gen1_batch import storage
from gen1_batch.cli import app
from gen1_batch.model.loading import describe_model
from gen1_batch.report.schema import report_url
from tests.helpers import closed_port, write_finished_shot, write_manifest

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_validate_lists_three_different_mistakes_and_exits_2(tmp_path, make_clip):
    make_clip("a.mp4")
    url = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "a", "video": "a.mp4", "prompt": "p", "structure": 12},
        {"shot_id": "a", "video": "a.mp4", "prompt": "p"},
        {"shot_id": "c", "video": "a.mp4"},
    ])
    result = invoke("validate", url)
    assert result.exit_code == 2
    for expected in ("0 to 7", "duplicate of row 1", "prompt, an image_prompt or both"):
        assert expected in result.stderr
    data = json.loads(invoke("validate", url, "--json").stdout)
    assert [(p["row"], p["column"]) for p in data["problems"]] == [(1, "structure"), (2, "shot_id"), (3, "prompt")]


def test_validate_checks_that_files_exist(tmp_path, make_clip):
    make_clip("a.mp4")
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"},
                                               {"shot_id": "b", "video": "b.mp4", "prompt": "p"}])
    result = invoke("validate", url)
    assert result.exit_code == 2 and "file not found" in result.stderr and "b.mp4" in result.stderr
    assert invoke("validate", url, "--no-check-files").exit_code == 0


def test_validate_refuses_a_csv_whose_unclosed_quote_swallowed_the_rows_after_it(tmp_path):
    (tmp_path / "m.csv").write_text('shot_id,video,prompt\nsh010,a.mp4,"neon street\nsh020,b.mp4,clay\n')
    result = invoke("validate", str(tmp_path / "m.csv"), "--no-check-files")
    assert result.exit_code == 2 and "row 2: a quote opened in this row" in result.stderr


@pytest.mark.parametrize(("group", "command", "summary"), [
    ((), "run", "(video, report.json), {output}/summary.json and"),
    (("models",), "download", "into one model folder; then `--model TARGET` uses it on machines"),
])
def test_the_list_of_commands_gives_each_summary_as_one_paragraph_not_the_docstrings_lines(group, command, summary):
    result = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "300"})
    line = next(x for x in result.stdout.splitlines() if f" {command} " in x)
    assert summary in line


def test_validate_help_documents_every_column():
    result = invoke("validate", "--help")
    for column in ("shot_id", "image_prompt", "temporal_scale", "frame_end", "output_format"):
        assert column in result.stdout


def test_run_refuses_a_bad_manifest_before_starting_anything(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a b", "video": "a.mp4"}])
    result = invoke("run", url, "--output", str(tmp_path / "out"))
    assert result.exit_code == 2 and "safe as a folder name" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["a-file", "a-file/out", "/proc/gen1-out"])
def test_run_refuses_an_output_it_cannot_write_in_one_line_before_starting_ray(tmp_path, monkeypatch, where):
    (tmp_path / "a-file").write_text("not a folder")
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}])
    monkeypatch.setattr("gen1_batch.pipeline.start_ray", pytest.fail)
    output = where if where.startswith("/") else str(tmp_path / where)
    result = invoke("run", url, "--output", output)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --output {output}: ") and result.stderr.count("\n") == 1


def test_run_refuses_an_unknown_model(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}])
    result = invoke("run", url, "--output", str(tmp_path / "out"), "--model", "nope")
    assert result.exit_code == 2 and "not a preset" in result.stderr


def test_dry_run_prints_the_plan_without_loading_a_model(tmp_path, make_clip, monkeypatch):
    make_clip("a.mp4", frames=30, width=128, height=72, fps="24000/1001")
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p",
                                                 "frame_start": 5, "frame_end": 24}])
    monkeypatch.setattr("gen1_batch.model.loading.load_components", pytest.fail)
    result = invoke("run", url, "--output", str(tmp_path / "out"), "--dry-run", "--json")
    assert result.exit_code == 0
    (shot,) = json.loads(result.stdout)["shots"]
    assert (shot["action"], shot["frames"], shot["working"]) == ("run", 20, "96x48")  # 85x48 content, padded
    assert shot["windows"]["window_frames"] == 8 and shot["output"].endswith("a/a.mp4")


def test_a_finished_job_run_again_starts_no_ray_and_loads_no_model(tmp_path, make_clip, monkeypatch):
    make_clip("a.mp4", frames=4)
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}])
    out = str(tmp_path / "out")
    from gen1_batch.manifest import load_manifest

    (shot,) = load_manifest(url)
    shot = shot.__class__(**{**shot.params(), "steps": 4})  # the tiny model's default steps
    write_finished_shot(out, shot)
    monkeypatch.setattr("gen1_batch.pipeline.start_ray", pytest.fail)
    result = invoke("run", url, "--output", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"shots": 1, "succeeded": 1, "failed": 0, "ran": 0, "skipped": 1, "not_run": 0}


def test_report_reads_the_shot_reports_and_flags_outliers(tmp_path):
    out = str(tmp_path / "out")
    for sid, status, consistency in (("a", "succeeded", 0.97), ("b", "failed", None), ("c", "succeeded", 0.6)):
        storage.write_json_atomic(report_url(out, sid), {
            "shot_id": sid, "status": status, "seconds": {"decode": 0.5, "total": 0.5},
            "metrics": {"frame_consistency": consistency} if consistency else None,
            "error": None if status == "succeeded" else {"stage": "decode", "type": "MediaError", "message": "x"}})
    rows = json.loads(invoke("report", out, "--json", "--threshold", "0.9").stdout)
    assert [(r["shot_id"], r["outlier"]) for r in rows] == [("a", False), ("b", False), ("c", True)]
    failed = json.loads(invoke("report", out, "--json", "--failed").stdout)
    assert [(r["shot_id"], r["error_type"]) for r in failed] == [("b", "MediaError")]
    table = runner.invoke(app, ["report", out, "--stages"], env={"COLUMNS": "160"}).stdout
    assert "MediaError" in table and "outlier" in table and "diffusion" in table
    assert not (tmp_path / "out" / "index.html").exists()
    invoke("report", out, "--html")
    assert "index.html" in {p.name for p in (tmp_path / "out").iterdir()}
    assert invoke("report", str(tmp_path / "none")).exit_code == 2


def test_models_list_shows_presets_and_whether_weights_are_here(tmp_path, monkeypatch):
    empty = str(tmp_path / "cache")  # whatever this machine's own caches hold
    for name in ("HF_HOME", "HF_HUB_CACHE", "GEN1_CACHE"):
        monkeypatch.setenv(name, empty)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", empty)  # read from HF_HOME at import
    rows = {r["name"]: r for r in json.loads(invoke("models", "list", "--json").stdout)}
    assert rows["tiny"]["weights"].startswith("built in-process")
    assert "SD 1.5" in rows["gen1-sd15"]["description"] and rows["gen1-sd15"]["licences"]
    backend = rows["animatediff-depth"]
    assert {"unet", "controlnet", "ip_adapter", "depth_estimator"} <= set(backend["components"])
    assert any("AnimateDiff" in licence for licence in backend["licences"])
    assert backend["weights"].startswith("not downloaded: ")  # it says which repos are missing


def test_models_download_writes_a_model_folder_that_loads(tmp_path):
    target = str(tmp_path / "models" / "tiny")
    assert invoke("models", "download", "tiny", target).exit_code == 0
    ref = describe_model(target)
    assert ref.kind == "dir" and ref.random_weights == ["all"]


def test_submit_checks_the_manifest_and_model_here_before_contacting_the_cluster(tmp_path):
    bad = write_manifest(tmp_path / "bad.jsonl", [{"shot_id": "a", "video": "a.mp4", "structure": 9}])
    nowhere = f"http://127.0.0.1:{closed_port()}"
    result = invoke("submit", bad, "--output", str(tmp_path / "o"), "--address", nowhere)
    assert result.exit_code == 2 and "structure" in result.output
    result = invoke("submit", bad, "--output", str(tmp_path / "o"), "--address", nowhere, "--model", "tny")
    assert result.exit_code == 2 and "tny" in result.output


def test_submit_checks_a_url_output_here_and_leaves_a_local_path_to_the_cluster(tmp_path):
    manifest = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "x"}])
    nowhere = f"http://127.0.0.1:{closed_port()}"
    result = invoke("submit", manifest, "--output", "nope://bucket/out", "--address", nowhere)
    assert result.exit_code == 2 and "--output nope://bucket/out: cannot write there" in result.stderr
    for args in (["--output", "nope://bucket/out", "--no-check-output"], ["--output", "/proc/on-the-cluster"]):
        result = invoke("submit", manifest, *args, "--address", nowhere)
        assert "cannot reach the Ray Jobs API" in result.output  # not checked here: on to the cluster


def test_submit_accepts_a_model_folder_only_the_cluster_has(tmp_path):
    manifest = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "x"}])
    nowhere = f"http://127.0.0.1:{closed_port()}"
    result = invoke("submit", manifest, "--output", str(tmp_path / "o"), "--address", nowhere,
                    "--model=/models/animatediff-depth")
    # The manifest passed the checks that need no model; the command got as far as the cluster.
    assert "/models/animatediff-depth is not on this machine" in result.output
    assert result.exit_code != 0 and "cannot reach the Ray Jobs API" in result.output
    bad = write_manifest(tmp_path / "bad.jsonl", [{"shot_id": "a b", "video": "a.mp4", "prompt": "x"}])
    result = invoke("submit", bad, "--output", str(tmp_path / "o"), "--address", nowhere,
                    "--model", "/models/animatediff-depth")
    assert result.exit_code == 2 and "shot_id" in result.output


def test_edit_refuses_an_output_that_is_a_folder_before_loading_anything(tmp_path, make_clip, monkeypatch):
    video = make_clip("a.mp4")
    (tmp_path / "edit.mp4").mkdir()
    monkeypatch.setattr("gen1_batch.api.cached_pipeline", pytest.fail)
    for output in (str(tmp_path / "edit.mp4"), "/proc/gen1/edit.mp4", "/proc/gen1/edit.####.png"):
        result = invoke("edit", video, "--prompt", "p", "--output", output)
        assert result.exit_code == 2 and result.stderr.startswith(f"error: --output {output}: "), result.stderr


def test_edit_refuses_a_guidance_scale_that_is_not_a_finite_number(tmp_path, make_clip, monkeypatch):
    video = make_clip("a.mp4")
    monkeypatch.setattr("gen1_batch.api.cached_pipeline", pytest.fail)
    result = invoke("edit", video, "--prompt", "p", "--output", str(tmp_path / "e.mp4"), "--temporal-scale", "inf")
    assert result.exit_code == 2 and "--temporal-scale: must be a finite number" in result.stderr


def test_edit_fails_on_a_damaged_frame_unless_told_to_replace_it(tmp_path):
    from gen1_batch.media import read_video
    from gen1_batch.media.synthetic import synthetic_frames
    from tests.helpers import damage_packets, encode_movie

    clean = encode_movie(str(tmp_path / "clean.avi"), synthetic_frames(6, 64, 48), "mjpeg", "yuvj420p")
    source = damage_packets(clean, str(tmp_path / "src.avi"), {2})
    out = str(tmp_path / "out.mp4")
    failed = invoke("edit", source, "--prompt", "p", "--steps", "1", "--output", out)
    assert failed.exit_code == 1 and "frame 2 cannot be decoded" in failed.stderr
    done = invoke("edit", source, "--prompt", "p", "--steps", "1", "--output", out, "--damaged-frames", "nearest")
    assert done.exit_code == 0, done.stderr
    assert "note: damaged source frame 2: replaced with the nearest good frame" in done.stdout
    assert read_video(out)[1].frames == 6


def test_run_refuses_a_job_wide_value_outside_the_columns_choices_naming_them(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}])
    result = runner.invoke(app, ["run", url, "--output", str(tmp_path / "out"), "--damaged-frames", "skip"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "'--damaged-frames'" in result.stderr
    assert "'fail', 'nearest', 'black'" in result.stderr


def test_the_job_summary_ends_with_each_shots_notes(capsys):
    from gen1_batch.cli.run import _print_summary

    summary = {"counts": {"shots": 1, "succeeded": 1, "failed": 0, "ran": 1, "skipped": 0}, "wall_seconds": 1.0,
               "index": "out/index.html", "failed": [],
               "notes": [{"shot_id": "sh010", "note": "variable frame rate (frames last 41.7 to 125.0 ms): the "
                                                      "output kept the source's timestamps"}]}
    _print_summary(summary, [], json_output=False)
    assert "note sh010: variable frame rate (frames last 41.7 to 125.0 ms)" in capsys.readouterr().out


def test_every_command_the_package_and_readme_tell_users_to_run_exists():
    root = Path(__file__).parent.parent
    texts = [p.read_text() for p in (root / "gen1_batch").rglob("*.py")] + [(root / "README.md").read_text()]
    commands = {tuple(re.findall(r"[a-z][\w-]*", words)) for text in texts
                for words in re.findall(r"`gen1((?: [a-z][\w-]*)+)", text)}
    assert ("models", "download") in commands
    for words in sorted(commands):
        assert runner.invoke(app, [*words, "--help"]).exit_code == 0, f"`gen1 {' '.join(words)}` is no command"
