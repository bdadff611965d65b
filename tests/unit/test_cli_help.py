"""Every Typer command of `paved` answers `--help` with an example of itself; what the noun
commands check before sending anything (enum choices, times, `paved query` variables)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import pytest
import typer
from graphql import GraphQLEnumType, build_schema
from typer.core import TyperGroup

from cli import catalog_common, framework
from cli.main import typer_app
from cli.raw_query import variable_value
from tools import parity


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
    assert command.epilog.startswith(("Example: ", "Examples:"))
    assert f"paved {' '.join(path)}" in command.epilog
    assert framework.parse(typer_app(), [*path, "--help"]) == 0
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert re.sub(r"\s+", " ", command.epilog.replace("\b", "")) in out


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


def test_the_cli_enums_are_the_schema_s() -> None:
    """The choices the options offer are the schema's enum values, in its order."""
    schema = build_schema(parity.SCHEMA.read_text())
    enums = [
        value
        for value in vars(catalog_common).values()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    ]
    assert len(enums) >= 8
    for enum in enums:
        graph_enum = schema.type_map[enum.__name__]
        assert isinstance(graph_enum, GraphQLEnumType)
        assert [member.value for member in enum] == list(graph_enum.values), enum.__name__


@pytest.mark.parametrize(
    ("text", "fine"),
    [
        ("2026-12-03T10:00:00Z", True),
        ("2026-12-03T10:00:00.5+02:00", True),
        ("2026-12-03T10:00:00", False),
        ("yesterday", False),
    ],
)
def test_times_need_their_offset(text: str, fine: bool) -> None:
    if fine:
        assert catalog_common.iso_time(text, "--since") == text
    else:
        with pytest.raises(typer.BadParameter, match="--since"):
            catalog_common.iso_time(text, "--since")
