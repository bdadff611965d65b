"""Every Typer command of `paved` answers `--help` with an example of itself, and the catalog's
variable typing of `paved query`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from cli import framework
from cli.main import typer_app
from cli.raw_query import variable_value


def _leaves(group: TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = sorted(_leaves(typer.main.get_command(typer_app())))  # type: ignore[arg-type]


def test_the_catalog_commands_are_there() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    for noun, verbs in {
        "services": "list show create update delete owners depend undepend",
        "teams": "list show create update delete add-member remove-member",
        "users": "list show create update",
        "envs": "list show create update delete freeze unfreeze",
        "audit": "list",
    }.items():
        assert {f"{noun} {verb}" for verb in verbs.split()} <= paths
    assert "query" in paths


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_help_shows_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    command = dict(COMMANDS)[path]
    assert command.epilog is not None
    assert command.epilog.startswith("Example: ")
    assert f"paved {' '.join(path)}" in command.epilog
    assert framework.parse(typer_app(), [*path, "--help"]) == 0
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert re.sub(r"\s+", " ", command.epilog) in out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-1.5", -1.5),
        ("true", True),
        ("null", None),
        ('["a", 1]', ["a", 1]),
        ('{"owner": "pay"}', {"owner": "pay"}),
        ('"42"', "42"),
        ("pay-api", "pay-api"),
        ("", ""),
        ("a=b", "a=b"),
        ("{not json", "{not json"),
    ],
)
def test_variables_are_json_when_they_parse(text: str, value: object) -> None:
    assert variable_value(text) == value
