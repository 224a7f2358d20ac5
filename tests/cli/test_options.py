"""The options of run, submit, validate and edit are the shot schema's columns."""

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from gen1_batch.cli import app
from gen1_batch.cli.edit import EDIT_COLUMNS
from gen1_batch.cli.options import column_args, column_options
from gen1_batch.shot import JOB_WIDE, choices, help_text
from tests.helpers import write_manifest


def options_of(command: str) -> dict:
    group = typer.main.get_command(app)
    return {p.name: p for p in group.commands[command].params if p.param_type_name == "option"}


@pytest.mark.parametrize(("command", "columns"), [("run", JOB_WIDE), ("submit", JOB_WIDE), ("validate", JOB_WIDE),
                                                  ("edit", EDIT_COLUMNS)])
def test_each_command_takes_the_columns_as_options_with_the_schemas_help_and_choices(command, columns, tmp_path):
    options = options_of(command)
    for name in columns:
        assert help_text(name) in options[name].help
    output = [] if command == "validate" else ["--output", str(tmp_path / "o.mp4")]
    refused = CliRunner().invoke(app, [command, "x.jsonl", *output, "--window-blend", "wavy"], env={"COLUMNS": "200"})
    assert refused.exit_code == 2 and ", ".join(f"'{c}'" for c in choices("window_blend")) in refused.stderr


def test_job_wide_values_given_again_as_options_parse_back_to_the_same_values():
    given = {"structure": 2, "window_shift": False, "output_format": "exr", "content_scale": 5.5, "steps": None}
    args = column_args(given)
    assert args == ["--structure", "2", "--no-window-shift", "--output-format", "exr", "--content-scale", "5.5"]
    seen = {}
    probe = typer.Typer()

    @probe.command()
    @column_options(JOB_WIDE)
    def show(columns: dict | None = None) -> None:
        seen.update(columns)

    assert CliRunner().invoke(probe, args).exit_code == 0
    assert {k: v for k, v in seen.items() if v is not None} == {k: v for k, v in given.items() if v is not None}


def test_validate_checks_what_the_model_needs_as_run_does(tmp_path):
    url = write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p", "width": 72}])
    runner = CliRunner()
    for args in (["--model", "tiny"], []):  # tiny is also the model run uses by default
        result = runner.invoke(app, ["validate", url, "--no-check-files", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and "column 'width': this model needs a multiple of 16, got 72" in result.stderr
    generic = runner.invoke(app, ["validate", url, "--no-check-files", "--width", "100"], env={"COLUMNS": "200"})
    assert generic.exit_code == 2 and "column 'width': job default: must be a multiple of 8" in generic.stderr
