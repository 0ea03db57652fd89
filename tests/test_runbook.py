"""docs/runbook.md: every `python starter.py ...` command is one the CLI has, with options it
takes and every required option given; the devstack, codec server and replay commands exist;
the replay tool replays a recorded history."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from starter import app

REPO = Path(__file__).resolve().parent.parent
RUNBOOK = (REPO / "docs" / "runbook.md").read_text()


def commands(prefix: str) -> list[list[str]]:
    """The runbook's command lines starting with `prefix` (continuations joined)."""
    text = RUNBOOK.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        at = line.find(prefix)
        if at < 0:
            continue
        command = line[at:].split("#", 1)[0].rstrip("` ")
        command = command.split("`", 1)[0].replace("<", "").replace(">", "")
        found.append(shlex.split(command))
    return found


STARTER = commands("python starter.py ")


def test_the_runbook_has_starter_commands() -> None:
    assert len(STARTER) >= 15


@pytest.mark.parametrize("argv", STARTER, ids=[" ".join(a[2:5]) for a in STARTER])
def test_every_starter_command_exists_with_its_options(argv: list[str]) -> None:
    command: Any = typer.main.get_command(app)
    words = argv[2:]
    path: list[str] = []
    while hasattr(command, "commands"):  # a group (typer's own click)
        name = words.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"{' '.join(path)} has no command {name!r}"
        path.append(name)
        command = sub
    options = {o: p for p in command.params for o in (*p.opts, *p.secondary_opts)}
    given = {w.split("=", 1)[0] for w in words if w.startswith("--")}
    unknown = given - set(options)
    assert not unknown, f"{' '.join(path)}: no option {sorted(unknown)}"
    for param in command.params:
        if param.param_type_name == "option" and param.required:
            assert set(param.opts) & given, f"{' '.join(path)}: {param.opts[0]} is required"


def test_devstack_and_codec_server_commands_exist() -> None:
    from devstack import codec_server

    for argv in commands("python -m devstack "):
        assert argv[3] in ("up", "down", "status", "compose-init"), argv
    rotate = commands("python -m devstack.codec_server ")
    assert rotate and all(a[3:] == ["--rotate-key"] for a in rotate)
    assert "--rotate-key" in Path(codec_server.__file__).read_text()


def test_the_replay_tool_replays_a_recorded_history(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("replay_tool", REPO / "deploy" / "replay.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    history = REPO / "tests" / "histories" / "return_to_refund.json"
    assert tool.main([str(history), "--workflow-id", "return-RECORDED"]) == 0
    assert "replays against this code" in capsys.readouterr().out
    assert any(a[:2] == ["python", "deploy/replay.py"] for a in commands("python deploy/replay.py"))
    assert re.search(r"tests/workflows -k replay", RUNBOOK)
