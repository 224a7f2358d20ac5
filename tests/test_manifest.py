import csv
import json

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gen1_batch.manifest import ManifestError, load_manifest, missing_files
from gen1_batch.shot import DEFAULTS, default_seed
from tests.helpers import write_manifest

GOOD = [
    {"shot_id": "sh010", "video": "clips/a.mp4", "prompt": "neon street"},
    {"shot_id": "sh020", "video": "/abs/b.mov", "image_prompt": "refs/look.png", "structure": 5, "seed": 7},
    {"shot_id": "sh030", "video": "s3://bucket/c.mp4", "prompt": "clay", "frame_start": 10, "frame_end": 20,
     "width": 96, "height": 64, "content_scale": 5.0, "temporal_scale": 1.5, "steps": 3},
]


def problems(url, **kwargs):
    with pytest.raises(ManifestError) as info:
        load_manifest(url, **kwargs)
    return info.value.problems


def test_jsonl_csv_and_parquet_give_the_same_shots(tmp_path):
    jsonl = write_manifest(tmp_path / "m.jsonl", GOOD)
    columns = sorted({k for r in GOOD for k in r})
    with open(tmp_path / "m.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(GOOD)
    rows = [{c: r.get(c) for c in columns} for r in GOOD]  # missing values become nulls
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "m.parquet")
    from_jsonl = load_manifest(jsonl)
    assert load_manifest(str(tmp_path / "m.csv")) == from_jsonl
    assert load_manifest(str(tmp_path / "m.parquet")) == from_jsonl
    assert [s.shot_id for s in from_jsonl] == ["sh010", "sh020", "sh030"]


def test_paths_are_relative_to_the_manifest_and_urls_stay(tmp_path):
    shots = load_manifest(write_manifest(tmp_path / "m.jsonl", GOOD))
    assert shots[0].video == str(tmp_path / "clips" / "a.mp4")
    assert shots[1].video == "/abs/b.mov"
    assert shots[1].image_prompt == str(tmp_path / "refs" / "look.png")
    assert shots[2].video == "s3://bucket/c.mp4"


def test_a_rows_value_wins_over_job_defaults_and_defaults_fill_the_rest(tmp_path):
    a, b, c = load_manifest(write_manifest(tmp_path / "m.jsonl", GOOD), structure=1, steps=9, content_scale=None)
    assert (a.structure, b.structure) == (1, 5)
    assert (a.steps, c.steps) == (9, 3)
    assert a.content_scale == DEFAULTS["content_scale"]  # a None flag keeps the default
    assert (a.seed, b.seed) == (default_seed("sh010"), 7)


def test_default_seed_is_a_stable_hash_of_the_shot_id():
    assert default_seed("sh010") == default_seed("sh010") == 4230590598  # pinned: changing it would change every re-run
    assert default_seed("sh010") != default_seed("sh011")


def test_params_hash_ignores_row_position_but_not_parameters(tmp_path):
    a = load_manifest(write_manifest(tmp_path / "a.jsonl", GOOD))
    b = load_manifest(write_manifest(tmp_path / "b.jsonl", [{}, *GOOD][1:][::-1]))
    assert {s.shot_id: s.params_hash() for s in a} == {s.shot_id: s.params_hash() for s in b}
    changed = load_manifest(write_manifest(tmp_path / "c.jsonl", [{**GOOD[0], "structure": 6}]))
    assert changed[0].params_hash() != a[0].params_hash()


def test_every_problem_is_reported_in_one_pass_with_row_and_column(tmp_path):
    rows = [
        {"shot_id": "ok1", "video": "a.mp4", "prompt": "x"},
        {"shot_id": "bad/id", "video": "b.mp4", "prompt": "x", "structure": 9},
        {"shot_id": "ok1", "video": "c.mp4"},
        {"shot_id": "s4", "video": "d.mp4", "prompt": "x", "colour": "red", "steps": "many"},
    ]
    found = problems(write_manifest(tmp_path / "m.jsonl", rows))
    by_place = {(p.row, p.column): p.reason for p in found}
    assert "safe as a folder name" in by_place[(2, "shot_id")]
    assert "0 to 7" in by_place[(2, "structure")]
    assert "duplicate of row 1" in by_place[(3, "shot_id")]
    assert "prompt, an image_prompt or both" in by_place[(3, "prompt")]
    assert "unknown column" in by_place[(4, "colour")]
    assert "expected an integer" in by_place[(4, "steps")]
    assert len(found) == 6


def test_rows_are_line_numbers_in_text_manifests(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n\n{not json\n" + json.dumps({"shot_id": "x", "video": "v"}) + "\n")
    found = problems(str(path))
    assert [(p.row, p.column) for p in found] == [(3, None), (4, "prompt")]
    with open(tmp_path / "m.csv", "w", newline="") as f:
        f.write("shot_id,video,prompt\nsh1,a.mp4,x\nsh2,,y\n")
    assert [(p.row, p.column) for p in problems(str(tmp_path / "m.csv"))] == [(3, "video")]


def test_ranges_and_types(tmp_path):
    rows = [{"shot_id": "a", "video": "v", "prompt": "p", "frame_start": 10, "frame_end": 5, "width": 100,
             "content_scale": -1, "output_format": "gif", "seed": True}]
    found = {p.column: p.reason for p in problems(write_manifest(tmp_path / "m.jsonl", rows))}
    assert "before frame_start" in found["frame_end"]
    assert "multiple of 8" in found["width"]
    assert "zero or more" in found["content_scale"]
    assert "one of mp4" in found["output_format"]
    assert "boolean" in found["seed"]


def test_a_model_can_ask_for_a_coarser_size_multiple(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "v", "prompt": "p", "width": 72}])
    assert load_manifest(url, {"resolution_multiple": 8})[0].width == 72
    assert "multiple of 16" in problems(url, settings={"resolution_multiple": 16})[0].reason


def test_file_level_problems(tmp_path):
    assert "unknown manifest format" in problems(str(tmp_path / "m.txt"))[0].reason
    assert "file not found" in problems(str(tmp_path / "none.jsonl"))[0].reason
    (tmp_path / "empty.jsonl").write_text("\n")
    assert "no shots" in problems(str(tmp_path / "empty.jsonl"))[0].reason


def test_manifest_from_an_fsspec_url():
    with fsspec.open("memory://jobs/night/m.jsonl", "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in GOOD))
    shots = load_manifest("memory://jobs/night/m.jsonl")
    assert shots[0].video == "memory://jobs/night/clips/a.mp4"


def test_missing_files_names_row_column_and_path(tmp_path, make_clip):
    make_clip("a.mp4")
    url = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "a", "video": "a.mp4", "prompt": "p"},
        {"shot_id": "b", "video": "gone.mp4", "image_prompt": "gone.png"},
    ])
    found = missing_files(load_manifest(url))
    assert [(p.row, p.column) for p in found] == [(2, "video"), (2, "image_prompt")]
    assert str(tmp_path / "gone.mp4") in found[0].reason


def test_job_defaults_are_held_to_the_rules_of_a_row(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", GOOD[:1])
    found = {p.column: p.reason for p in problems(url, output_format="gif", window_blend="wavy", width=100)
             if p.row is None}
    assert set(found) == {"output_format", "window_blend", "width"}
    assert all(reason.startswith("job default: ") for reason in found.values())


def test_missing_files_checks_every_frame_of_a_sequence(tmp_path):
    from gen1_batch.media.synthetic import write_synthetic_clip

    write_synthetic_clip(str(tmp_path / "plate.####.png"), frames=4, width=32, height=16, output_format="png")
    (tmp_path / "plate.1003.png").unlink()
    url = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "a", "video": "plate.####.png", "prompt": "p", "frame_start": 1001, "frame_end": 1002},
        {"shot_id": "b", "video": "plate.####.png", "prompt": "p"},
    ])
    found = missing_files(load_manifest(url))
    assert [(p.row, p.column) for p in found] == [(2, "video")]
    assert "plate.1003.png: frame 1003 is missing" in found[0].reason


def csv_problems(tmp_path, text):
    (tmp_path / "m.csv").write_text(text)
    return problems(str(tmp_path / "m.csv"))


@pytest.mark.parametrize("rest", [
    "sh020,b.mp4,clay\nsh030,c.mp4,x\n",  # never closed: the rest of the file is one cell
    'sh020,b.mp4,"clay"\nsh030,c.mp4,x\n',  # closed by the next row's quote, which then breaks the CSV
    'sh020,b.mp4,"\nsh030,c.mp4,x\n',  # closed at the end of a swallowed row: valid CSV, rows lost
    "".join(f"sh{i},b.mp4,clay\n" for i in range(10_000)),  # more than csv's field size limit
])
def test_an_unclosed_csv_quote_is_refused_at_the_row_where_it_opened(tmp_path, rest):
    found = csv_problems(tmp_path, 'shot_id,video,prompt\nsh001,a.mp4,x\nsh010,a.mp4,"neon street\n' + rest)
    assert [p.row for p in found] == [3]
    assert "quote opened in this row" in found[0].reason


def test_a_line_break_inside_a_quoted_csv_cell_is_kept(tmp_path):
    text = 'shot_id,video,prompt\nsh010,a.mp4,"neon street,\nat night, wet"\n\nsh020,b.mp4,x\nsh030,,y\n'
    found = csv_problems(tmp_path, text)
    assert [(p.row, p.column) for p in found] == [(6, "video")]  # rows are counted by the line they start on
    (tmp_path / "m.csv").write_text(text.replace("sh030,,y\n", ""))
    shots = load_manifest(str(tmp_path / "m.csv"))
    assert [(s.shot_id, s.row, s.prompt) for s in shots] == [("sh010", 2, "neon street,\nat night, wet"),
                                                              ("sh020", 5, "x")]


def test_text_that_is_not_utf8_is_refused_at_its_line_not_changed(tmp_path):
    row = json.dumps({"shot_id": "b", "video": "v.mp4", "prompt": "café"}, ensure_ascii=False).encode()
    (tmp_path / "m.jsonl").write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + row.replace(b"\xc3\xa9", b"\xe9"))
    assert [(p.row, "UTF-8" in p.reason) for p in problems(str(tmp_path / "m.jsonl"))] == [(2, True)]
    (tmp_path / "m.csv").write_bytes("shot_id,video,prompt\na,v.mp4,x\nb,v.mp4,café\n".encode("cp1252"))
    assert [(p.row, "UTF-8" in p.reason) for p in problems(str(tmp_path / "m.csv"))] == [(3, True)]


def test_a_column_given_twice_is_refused_in_every_format(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"shot_id": "a", "video": "v", "prompt": "x", "prompt": "y"}\n')
    (tmp_path / "m.csv").write_text("shot_id,video,prompt,prompt\na,v,x,y\n")
    table = pa.table([["a"], ["v"], ["x"], ["y"]], names=["shot_id", "video", "prompt", "prompt"])
    pq.write_table(table, tmp_path / "m.parquet")
    for name in ("m.jsonl", "m.csv", "m.parquet"):
        assert [p.column for p in problems(str(tmp_path / name))] == ["prompt"], name


def test_a_jsonl_row_is_one_line_whatever_characters_its_text_holds(tmp_path):
    prompt = "neon\u2028street\u2029at\x85night"  # str.splitlines() breaks at each; JSON allows them raw
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                              for r in [{**GOOD[0], "prompt": prompt}, GOOD[1]]))
    url = str(tmp_path / "m.jsonl")
    assert [(s.row, s.prompt) for s in load_manifest(url)] == [(1, prompt), (2, None)]


@pytest.mark.parametrize("shot_id", ["summary.json", "index.html", "results.parquet", "Summary.JSON", "nl\n",
                                     ".gen1-lock.json", "Edited.otio", "sh010.", "sh.tmp-1", "CON", "nul.mp4"])
def test_shot_ids_that_cannot_name_a_folder_beside_the_job_files_are_refused(tmp_path, shot_id):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": shot_id, "video": "v.mp4", "prompt": "x"}])
    assert [(p.row, p.column) for p in problems(url)] == [(1, "shot_id")]


def test_shot_ids_equal_ignoring_case_are_duplicates(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{**GOOD[0], "shot_id": "sh010A"}, {**GOOD[0], "shot_id": "SH010a"}])
    (found,) = problems(url)
    assert (found.row, found.column) == (2, "shot_id")
    assert "duplicate of row 1" in found.reason and "'sh010A'" in found.reason and "case" in found.reason


def test_non_finite_numbers_are_refused_in_every_format_not_taken_as_missing(tmp_path):
    (tmp_path / "m.jsonl").write_text("".join(
        f'{{"shot_id": "s{i}", "video": "v", "prompt": "x", "{column}": {value}}}\n'
        for i, (column, value) in enumerate([("content_scale", "NaN"), ("temporal_scale", "Infinity"),
                                             ("content_scale", "-Infinity"), ("steps", "NaN"),
                                             ("fps", "Infinity"), ("seed", "NaN")], start=1)))
    assert [p.row for p in problems(str(tmp_path / "m.jsonl"))] == [1, 2, 3, 4, 5, 6]
    (tmp_path / "m.csv").write_text("shot_id,video,prompt,content_scale,temporal_scale\na,v,x,nan,1\nb,v,x,2,inf\n")
    assert [(p.row, p.column) for p in problems(str(tmp_path / "m.csv"))] == [(2, "content_scale"),
                                                                              (3, "temporal_scale")]
    pq.write_table(pa.table({"shot_id": ["a", "b"], "video": ["v", "v"], "prompt": ["x", "x"],
                             "content_scale": [float("nan"), None]}), tmp_path / "m.parquet")
    assert [(p.row, p.column) for p in problems(str(tmp_path / "m.parquet"))] == [(1, "content_scale")]
    url = write_manifest(tmp_path / "ok.jsonl", GOOD[:1])
    assert [p.column for p in problems(url, content_scale=float("nan"))] == [
        "content_scale"]


def test_damaged_frames_and_retime_come_from_the_row_then_the_job_and_are_checked(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "a", "video": "a.mp4", "prompt": "p"},
        {"shot_id": "b", "video": "b.mp4", "prompt": "p", "damaged_frames": "black", "retime": "yes"},
    ])
    a, b = load_manifest(url, damaged_frames="nearest")
    assert (a.damaged_frames, a.retime, b.damaged_frames, b.retime) == ("nearest", False, "black", True)
    assert load_manifest(url)[0].damaged_frames == "fail"  # the default: a damaged frame fails the shot
    bad = write_manifest(tmp_path / "bad.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p",
                                                   "damaged_frames": "skip"}])
    (problem,) = problems(bad)
    assert (problem.row, problem.column) == (1, "damaged_frames") and "fail, nearest, black" in problem.reason


def test_missing_frames_a_shot_replaces_are_not_missing_files(tmp_path):
    from gen1_batch.media.synthetic import write_synthetic_clip

    write_synthetic_clip(str(tmp_path / "plate.####.png"), frames=4, width=32, height=16, output_format="png")
    (tmp_path / "plate.1003.png").unlink()
    url = write_manifest(tmp_path / "m.jsonl", [
        {"shot_id": "a", "video": "plate.####.png", "prompt": "p", "damaged_frames": "nearest"},
        {"shot_id": "b", "video": "plate.####.png", "prompt": "p"},
    ])
    assert [(p.row, p.column) for p in missing_files(load_manifest(url))] == [(2, "video")]


def test_a_timeline_column_names_one_clip_of_one_timeline_per_row(tmp_path):
    rows = [{**GOOD[0], "shot_id": "a", "timeline": "cut.otio#1"},
            {**GOOD[0], "shot_id": "b", "timeline": "cut.otio#1"},  # the same clip again
            {**GOOD[0], "shot_id": "c", "timeline": "other.edl#2"},  # another timeline: one edited.otio a job
            {**GOOD[0], "shot_id": "d", "timeline": "cut.otio"},  # no clip
            {**GOOD[0], "shot_id": "e", "timeline": "cut.otio#0"}]  # clips count from 1
    found = {(p.row, p.column): p.reason for p in problems(write_manifest(tmp_path / "m.jsonl", rows))}
    assert set(found) == {(2, "timeline"), (3, "timeline"), (4, "timeline"), (5, "timeline")}
    assert "row 1's clip" in found[(2, "timeline")] and "one edited.otio" in found[(3, "timeline")]
    assert "TIMELINE#N" in found[(4, "timeline")] and "TIMELINE#N" in found[(5, "timeline")]


def test_a_timeline_is_relative_to_the_manifest_and_changes_no_edit(tmp_path):
    row = {**GOOD[0], "shot_id": "a"}
    (plain,) = load_manifest(write_manifest(tmp_path / "plain.jsonl", [row]))
    (cut,) = load_manifest(write_manifest(tmp_path / "cut.jsonl", [{**row, "timeline": "edit/cut.otio#3"}]))
    assert cut.timeline == f"{tmp_path}/edit/cut.otio#3"
    assert cut.params_hash() == plain.params_hash()  # a shot made from a cut is not re-run for it
