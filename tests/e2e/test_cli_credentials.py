"""The real `paved`, as processes, against an app served on a socket: the token typed at a
hidden prompt (or piped in) is kept and used, and appears in nothing any command prints nor in
the server's logs; exit codes 3 and 4 for an unreachable API and a refused token."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx2 as httpx
import pytest

from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient
from tests.support.network import free_port
from tests.support.processes import clean_environment, paved_command
from tests.support.served import Served, served_app, served_settings


@pytest.fixture
async def served(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Served]:
    async with served_app(served_settings(migrated_url)) as served:
        yield served


@pytest.fixture
async def gql(served: Served) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http:
        yield GraphQLClient(http)


async def paved(
    home: Path, *argv: str, stdin: str | None = None, **env: str
) -> tuple[int, str, str]:
    """`paved argv...` as a process with `home` as its config dir, `stdin` piped in."""
    process = await asyncio.create_subprocess_exec(
        *paved_command(),
        *argv,
        cwd=home,
        env=clean_environment(XDG_CONFIG_HOME=str(home / "config"), **env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_no_command_prints_or_logs_the_token(
    served: Served,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await seed(gql, pool)
    ana = await token(store, Scope.READ, Scope.WRITE, Scope.DEPLOY, user="ana")
    printed: list[str] = []

    async def run(*argv: str, stdin: str | None = None, **env: str) -> tuple[int, str, str]:
        code, out, err = await paved(tmp_path, *argv, stdin=stdin, **env)
        printed.extend((out, err))
        return code, out, err

    code, out, err = await run("login", "--api-url", served.url, stdin=f"{ana}\n")
    assert (code, err) == (0, ""), err
    assert out.startswith(f"logged in to {served.url} as User ana (kept in ")
    kept = tmp_path / "config" / "paved" / "login.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text()) == {"api_url": served.url, "token": ana}

    assert await run("whoami") == (0, "User ana\n", "")
    for argv in (
        ("whoami", "--json"),
        ("tokens", "list"),
        ("tokens", "list", "--json"),
        ("status", "pay-api"),
        ("releases", "--json"),
        ("deploy", "pay-api", "nowhere", "1"),
        ("status", "nope"),
        ("whoami", "--help"),
    ):
        code, out, err = await run(*argv)
        assert code in (0, 1), (argv, err)
    assert any("ana" in text for text in printed)

    # A token refused: exit 4; an API that cannot be reached: exit 3 (and the stored token
    # is not sent to another URL).
    bad = "paved_" + "z" * 43 + "abcdef"
    code, out, err = await run("whoami", PAVED_TOKEN=bad)
    assert (code, out) == (4, "")
    assert err.startswith(f"paved: the API at {served.url} answered HTTP 401")
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}/graphql"
    code, out, err = await run("whoami", "--api-url", closed)
    assert (code, out) == (3, "")
    assert err.startswith(f"paved: cannot reach the API at {closed}: ")

    assert await run("logout") == (
        0,
        f"logged out of {served.url} (the token is forgotten in {kept})\n",
        "",
    )
    for secret in (ana, bad):
        assert not any(secret in text for text in printed)
        assert secret not in caplog.text
        assert secret[-12:] not in "".join(printed) + caplog.text


def _login_at_a_terminal(home: Path, url: str, secret: str) -> str:
    """`paved login` in a pseudo-terminal of its own: answer its two prompts; everything the
    terminal showed."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `paved login`, the pseudo-terminal its controlling terminal
        env = clean_environment(XDG_CONFIG_HOME=str(home / "config"), TERM="dumb")
        command = paved_command()
        os.chdir(home)
        os.execve(command[0], [*command, "login"], env)
    shown = b""
    # The prompt's last character comes once the terminal stopped echoing (click writes it
    # through getpass, which flushes what was typed before).
    answers = [(b"]: ", url), (b"Token: ", secret)]
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the child ended
                break
            if not chunk:
                break
            shown += chunk
            if answers and answers[0][0] in shown:
                os.write(terminal, answers.pop(0)[1].encode() + b"\n")
    finally:
        status = _ended(pid, deadline)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, shown
    return shown.decode(errors="replace")


def _ended(pid: int, deadline: float) -> int:
    """The child's wait status, once it ended; killed when it has not by `deadline`."""
    while True:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.05)


async def test_login_at_a_terminal_hides_the_token(
    served: Served, gql: GraphQLClient, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = await seed(gql, pool)
    bob = await token(store, Scope.READ, user="bob")
    shown = await asyncio.to_thread(_login_at_a_terminal, tmp_path, served.url, bob)
    assert "API URL [http://127.0.0.1:8000/graphql]:" in shown
    assert served.url in shown  # the URL is echoed as typed...
    assert bob not in shown  # ...the token is not
    assert "Token:" in shown
    assert "as User bob" in shown
    assert json.loads((tmp_path / "config" / "paved" / "login.json").read_text())["token"] == bob
