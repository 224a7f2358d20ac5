"""No output may ever be a source: the path rule on its own, then `gen1 run` and `gen1 edit` on a
studio's usual layout."""

import hashlib
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gen1_batch.cli import app
from gen1_batch.manifest import load_manifest
from gen1_batch.media import write_video
from gen1_batch.media.synthetic import synthetic_frames, write_synthetic_clip
from gen1_batch.safety import FILE, SEQUENCE, TEMPORARIES, Names, edit_collisions, job_collisions, names_overlap
from tests.helpers import gen1, write_manifest


def file(name):
    return Names("/f", FILE, name)


def seq(head, tail):
    return Names("/f", SEQUENCE, head, tail)


@pytest.mark.parametrize("a, b, overlap", [
    (file("sh010.mp4"), file("sh010.mp4"), True),
    (file("sh010.mp4"), file("sh010.mov"), False),
    (file("sh010.1002.png"), seq("sh010.", ".png"), True),
    (file("sh010.png"), seq("sh010.", ".png"), False),
    (seq("sh010.", ".png"), seq("sh010.", ".png"), True),  # whatever the padding
    (seq("sh010.", ".png"), seq("sh010.v2.", ".png"), False),
    (seq("sh010.", ".png"), seq("sh010.1", ".png"), True),  # sh010.1####.png are sh010.#####.png too
    (seq("sh010.", ".png"), seq("sh010.", ".exr"), False),
    (file(".sh010.mp4.tmp-1a2b3c4d"), Names("/f", TEMPORARIES), True),
    (file("notes.tmp-draft.txt"), Names("/f", TEMPORARIES), False),
    (seq("sh010.", ".png"), Names("/f", TEMPORARIES), False),
])
def test_names_collide_exactly_when_one_file_name_can_be_both(a, b, overlap):
    assert names_overlap(a, b) is overlap and names_overlap(b, a) is overlap


def md5s(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def show(tmp_path):
    """The issue's layout: show/sh010/sh010.####.png (6 frames) and show/sh020/sh020.mp4, one manifest."""
    root = tmp_path / "show"
    write_video(synthetic_frames(6, 48, 32, seed=1), str(root / "sh010" / "sh010.####.png"), 24, "png",
                first_frame=1001)
    write_synthetic_clip(str(root / "sh020" / "sh020.mp4"), 6, 48, 32, Fraction(24), 2)
    write_manifest(root / "p.jsonl", [
        {"shot_id": "sh010", "video": "sh010/sh010.####.png", "frame_start": 1002, "frame_end": 1005,
         "output_format": "png", "prompt": "clay"},
        {"shot_id": "sh020", "video": "sh020/sh020.mp4", "prompt": "clay"},
    ])
    return root


def test_run_with_the_output_over_the_sources_refuses_before_any_work_and_names_each_collision(show):
    before = md5s(show)
    result = gen1("run", "p.jsonl", "--output", ".", cwd=show)
    assert result.returncode == 2, result.stdout + result.stderr
    problems = [line for line in result.stderr.splitlines() if "collides with" in line]
    assert len(problems) == 2
    assert problems[0].strip().startswith("row 1, column 'video'") and "sh010/sh010.####.png" in problems[0]
    assert problems[1].strip().startswith("row 2, column 'video'") and "sh020/sh020.mp4" in problems[1]
    assert md5s(show) == before  # not one frame rewritten or removed, no file added


def test_an_output_folder_holding_sources_is_fine_when_no_written_name_can_collide(show):
    for frame in (show / "sh010").iterdir():  # sh010/plate.####.png: shot sh010 writes sh010/sh010.####.png
        frame.rename(frame.with_name(frame.name.replace("sh010.", "plate.")))
    rows = [{"shot_id": "sh010", "video": "sh010/plate.####.png", "prompt": "p", "output_format": "png"},
            {"shot_id": "sh030", "video": "sh020/sh020.mp4", "prompt": "p"},  # writes sh030/, not sh020/
            {"shot_id": "sh040", "video": "sh040/plates/sh040.mp4", "prompt": "p"}]  # below the shot folder
    shots = load_manifest(write_manifest(show / "q.jsonl", rows))
    assert job_collisions(shots, str(show / "q.jsonl"), str(show)) == []


def test_every_kind_of_source_is_protected_from_every_kind_of_written_file(tmp_path):
    out = tmp_path / "out"
    rows = [{"shot_id": "a", "video": "out/b/b.mp4", "prompt": "p"},  # another shot's edit
            {"shot_id": "b", "video": "clip.mp4", "image_prompt": "out/a/report.html"},  # a shot's page
            {"shot_id": "c", "video": "out/c/.c.mp4.tmp-0badf00d", "prompt": "p"},  # a name cleaned up as leftover
            {"shot_id": "d", "video": "out/index.html", "prompt": "p"},  # the job's page
            {"shot_id": "e", "video": "clip.mp4", "prompt": "p", "timeline": "out/edited.otio#1"}]  # its timeline
    shots = load_manifest(write_manifest(tmp_path / "m.jsonl", rows))
    problems = job_collisions(shots, str(out / "results.parquet"), str(out))  # and the manifest itself
    described = {(p.row, p.column): p.reason for p in problems}
    assert set(described) == {(None, None), (1, "video"), (2, "image_prompt"), (3, "video"), (4, "video"),
                              (5, "timeline")}
    assert "edited.otio of the job" in described[(5, "timeline")]
    assert "the edit of shot b" in described[(1, "video")]
    assert "report.html of shot a" in described[(2, "image_prompt")]
    assert "the temporaries of shot c" in described[(3, "video")]
    assert "index.html of the job" in described[(4, "video")]
    assert "results.parquet of the job" in described[(None, None)]


def test_paths_are_compared_resolved_through_symlinks_and_case_folded_where_the_filesystem_ignores_case(show):
    (show.parent / "renders").symlink_to(show)  # --output renders is the show folder itself
    shots = load_manifest(str(show / "p.jsonl"))
    assert len(job_collisions(shots, str(show / "p.jsonl"), str(show.parent / "renders"))) == 2
    upper = load_manifest(write_manifest(show / "u.jsonl", [
        {"shot_id": "sh020", "video": "SH020/SH020.MP4", "prompt": "p"}]))
    assert len(job_collisions(upper, str(show / "u.jsonl"), str(show), fold=True)) == 1
    assert job_collisions(upper, str(show / "u.jsonl"), str(show), fold=False) == []


def test_gen1_edit_refuses_to_write_over_its_source(show):
    before = md5s(show)
    for source, output in (("sh020/sh020.mp4", "sh020/../sh020/sh020.mp4"),
                           ("sh010/sh010.####.png", "sh010/sh010.%04d.png")):
        result = CliRunner().invoke(app, ["edit", str(show / source), "--prompt", "p", "--output", str(show / output)])
        assert result.exit_code == 2, result.output
        assert "would overwrite its source" in result.stderr and source in result.stderr
    assert md5s(show) == before
    assert edit_collisions([str(show / "sh020/sh020.mp4")], str(show / "sh020/edit.mp4")) == []


def test_a_dry_run_refuses_the_same_way(show):
    result = CliRunner().invoke(app, ["run", str(show / "p.jsonl"), "--output", str(show), "--dry-run"])
    assert result.exit_code == 2 and result.stderr.count("collides with") == 2
