"""The starter CLI: help for every group, bad input files named in words with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from cli.common import EXIT_BAD_INPUT, InputError, load_model, run_async
from starter import app

runner = CliRunner()

GROUPS = ["promotion", "rebalance", "return", "faults", "demo"]


def test_top_level_help_lists_every_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in GROUPS:
        assert group in result.output


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_has_help(group: str) -> None:
    result = runner.invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


class Sample(BaseModel):
    name: str
    quantity: int = Field(ge=0)


def test_load_model_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.json: no such file"):
        load_model(tmp_path / "nope.json", Sample)


def test_load_model_names_the_json_error_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n "quantity": }')
    with pytest.raises(InputError, match=r"broken\.json: is not valid JSON \(line 2"):
        load_model(path, Sample)


def test_load_model_names_each_wrong_field(tmp_path: Path) -> None:
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps({"quantity": -3}))
    with pytest.raises(InputError) as caught:
        load_model(path, Sample)
    message = str(caught.value)
    assert "wrong.json: name: Field required" in message
    assert "wrong.json: quantity: Input should be greater than or equal to 0" in message


def test_a_command_failing_on_input_exits_2_with_the_reason(tmp_path: Path) -> None:
    probe = typer.Typer()
    path = tmp_path / "wrong.json"
    path.write_text("[]")

    @probe.command()
    def read(file: Path) -> None:
        async def go() -> None:
            load_model(file, Sample)

        run_async(go)

    result = runner.invoke(probe, [str(path)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "wrong.json" in result.output


def test_an_unreachable_server_is_one_line_not_a_traceback() -> None:
    from devstack.processes import free_port

    result = runner.invoke(app, ["--address", f"127.0.0.1:{free_port()}", "promotion", "list"])
    assert result.exit_code == 3
    assert "Temporal is not reachable at" in result.output
    assert "Traceback" not in result.output
