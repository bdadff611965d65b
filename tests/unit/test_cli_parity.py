"""Every mutation of the schema has a `paved` command, and the README's table "Every mutation,
every face" is the one `tools/parity.py` writes."""

from __future__ import annotations

from pathlib import Path

from tools import parity

AWAITED_ELSEWHERE: dict[str, str] = {}
"""Mutations whose commands are being written on another branch: once they land, their rows
name them and this test asks for them to leave this list."""


def test_every_mutation_has_a_cli_command() -> None:
    missing = [row.mutation for row in parity.rows() if row.cli is None]
    assert [m for m in missing if m not in AWAITED_ELSEWHERE] == [], "mutations without a command"
    assert sorted(set(AWAITED_ELSEWHERE) - set(missing)) == [], "now covered: drop from the list"


def test_the_cli_registry_is_the_code() -> None:
    assert parity.problems() == []


def test_the_registry_check_finds_what_is_wrong() -> None:
    wrong = {
        **parity.CLI_COMMANDS,
        "createTeam": "paved teams make",
        "frobnicate": "paved services create",
    }
    del wrong["deleteTeam"]
    assert parity.problems(wrong) == [
        "createTeam: `paved teams make` is not a command of paved",
        "frobnicate (paved services create) is not a mutation of the schema",
        "deleteTeam is sent by cli.teams but CLI_COMMANDS does not name its command",
    ]
    assert parity.command_exists("paved deploy")
    assert parity.command_exists("paved resources request")
    assert not parity.command_exists("paved resources")
    assert not parity.command_exists("paved services")
    assert not parity.command_exists("paved nope")


def test_portal_mutations_are_read_from_its_documents(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text(
        "export const X = `mutation X($input: DeployInput!) {\n  deploy(input: $input) { id }\n}`;\n"
        "const Q = `query { createTeam(x: 1) }`; // not a mutation document\n"
        "// createService( in a comment\n"
    )
    assert parity.portal_mutations(["deploy", "createTeam", "createService"], tmp_path) == {
        "deploy"
    }


def test_the_readme_table_is_current() -> None:
    assert parity.readme_table(parity.README.read_text()) == parity.table(), "run `make parity`"
    assert parity.main(["--check"]) == 0
