"""The README is part of the product: its manifest table and commands must stay true."""

import re
from pathlib import Path

from gen1_batch.shot import COLUMNS, REQUIRED, help_text, kind

README = (Path(__file__).parent.parent / "README.md").read_text()
CI = (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_the_manifest_table_matches_the_schema():
    rows = re.findall(r"^\| `(\w+)` \| (\w+)( \(required\))? \| (.+) \|$", README, re.M)
    assert [r[0] for r in rows] == list(COLUMNS)
    for name, type_name, required, meaning in rows:
        assert (type_name, bool(required), meaning) == (kind(name), name in REQUIRED, help_text(name))


def test_ci_runs_the_readmes_test_command():
    commands = re.findall(r"^# 2\..*\n(.+)$", README, re.M)
    assert commands and commands[0] in CI


def test_the_example_manifest_is_valid():
    from gen1_batch.manifest import load_manifest, missing_files

    example = str(Path(__file__).parent.parent / "manifests" / "example.jsonl")
    shots = load_manifest(example, {"resolution_multiple": 16})
    assert len(shots) == 4 and not missing_files(shots)
