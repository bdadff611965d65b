"""Every `paved` command says how it is used: `--help` with an example, whoever added it; and
the real `paved` completes commands and options for bash, zsh and fish (Typer's protocol)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from cli.main import main, typer_app
from tests.support.processes import clean_environment, paved_command


def every_command() -> Iterator[tuple[str, Any]]:
    """(`paved noun verb`, its command) for every command that runs (no group), however
    deep."""

    def walk(path: str, command: Any) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, subcommand in sorted(subcommands.items()):
            yield from walk(f"{path} {name}", subcommand)

    yield from walk("paved", typer.main.get_command(typer_app()))


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(every_command())
    assert {"paved deploy", "paved login", "paved tokens create", "paved token create"} <= {
        path for path, _ in commands
    }
    missing = []
    for path, command in commands:
        epilog = command.epilog or ""
        if not (epilog.startswith(("Example: ", "Examples:")) and "paved " in epilog):
            missing.append(path)
            continue
        if not command.help:
            missing.append(f"{path} (no description)")
            continue
        capsys.readouterr()
        assert main([*path.split()[1:], "--help"]) == 0, path
        shown = capsys.readouterr().out
        assert shown.startswith(f"Usage: {path} "), (path, shown)
        assert "Example" in shown, (path, shown)
    assert missing == [], f"commands without an example in their --help: {missing}"


def _paved(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*paved_command(), *argv],
        cwd=tmp_path,
        env=clean_environment(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _completions(tmp_path: Path, shell: str, words: str) -> subprocess.CompletedProcess[str]:
    """What the real `paved` offers for the command line `words`, asked as the completion
    script Typer installs for `shell` asks it."""
    return _paved(
        tmp_path,
        _PAVED_COMPLETE=f"complete_{shell}",
        _TYPER_COMPLETE_ARGS=words,
        _TYPER_COMPLETE_FISH_ACTION="get-args",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_names_paved(tmp_path: Path, shell: str) -> None:
    # As `paved --show-completion` prints it in that shell (its detection off, the shell named).
    shown = _paved(
        tmp_path, "--show-completion", shell, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"
    )
    assert shown.returncode == 0, shown.stderr
    assert "_PAVED_COMPLETE" in shown.stdout
    assert f"complete_{shell}" in shown.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_commands_and_options_complete(tmp_path: Path, shell: str) -> None:
    nouns = _completions(tmp_path, shell, "paved to")
    assert nouns.returncode == 0, nouns.stderr
    assert "tokens" in nouns.stdout
    assert "token" in nouns.stdout.replace("tokens", "")
    verbs = _completions(tmp_path, shell, "paved resources ")
    offered = set(re.findall(r"[a-z-]+", verbs.stdout))
    assert {"list", "request", "delete"} <= offered, verbs.stdout
    options = _completions(tmp_path, shell, "paved deploy --id")
    assert "--idempotency-key" in options.stdout


def test_verbs_of_one_noun_from_several_modules_all_stay(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another module adding `audit list` with an `add_typer` of its own keeps `audit verify`
    (Typer alone would keep only the last `audit`)."""
    from cli import main as paved_cli

    audit = typer.Typer(name="audit", help="The audit log.")

    @audit.command("list", epilog="Example: paved audit list")
    def audit_list() -> int:
        """List it."""
        return 0

    monkeypatch.setattr(
        paved_cli, "_TYPER_COMMANDS", [*paved_cli._TYPER_COMMANDS, lambda app: app.add_typer(audit)]
    )
    paths = {path for path, _ in every_command()}
    assert {"paved audit verify", "paved audit list"} <= paths
    assert main(["audit", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "verify" in shown
    assert "list" in shown
    # The module's own sub-app is left as it was.
    assert [command.name for command in audit.registered_commands] == ["list"]


def test_every_client_command_takes_json() -> None:
    """A command that talks to the API (it takes --api-url) can print exactly its data."""
    for path, command in every_command():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if "--api-url" in options:
            assert "--json" in options, path
