"""A bad setting stops the real `paved` command: one line naming the setting, exit code 2, no
traceback, nothing started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import clean_environment, paved_command


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PAVED_PORT", "abc"), ("PAVED_ENV", "bogus"), ("DATABASE_URL", "not a url")],
)
@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_paved_stops_on_a_bad_setting_with_one_line(
    tmp_path: Path, variable: str, value: str, command: str
) -> None:
    result = subprocess.run(
        [*paved_command(), command],
        cwd=tmp_path,
        env=clean_environment(**{variable: value}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"paved: invalid setting {variable}: "), result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was started: no embedded database folder appeared.
    assert not (tmp_path / ".paved").exists()
