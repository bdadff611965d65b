"""The peer system: PostGraphile 5 (amber preset) on Node.js 22, both from npm packages
pinned in `bench/peer/package-lock.json`, run as one Node process by `bench/peer/server.mjs`
on the benchmark's database, with the views and smart tags of `bench/peer/schema.sql`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg

from bench.queries import post_graphql
from bench.server import ServerError, ServerProcess, free_port

log = logging.getLogger("bench")

PEER_DIR = Path(__file__).resolve().parent / "peer"
NODE = PEER_DIR / "node_modules" / "node" / "bin" / "node"
POSTGRAPHILE_PACKAGE = PEER_DIR / "node_modules" / "postgraphile" / "package.json"
LOCK_FILE = PEER_DIR / "package-lock.json"
PINNED = ("node", "postgraphile")
SCHEMA_SQL = PEER_DIR / "schema.sql"
SERVER_SCRIPT = PEER_DIR / "server.mjs"
NPM_TIMEOUT_SECONDS = 900
_PROBE = json.dumps({"query": "{ __typename }"}).encode()


def _installed_as_locked() -> bool:
    """node_modules holds the versions of `node` and `postgraphile` that the lock pins."""
    if not NODE.is_file():
        return False
    try:
        locked = json.loads(LOCK_FILE.read_text())["packages"]
        for name in PINNED:
            package = PEER_DIR / "node_modules" / name / "package.json"
            installed = json.loads(package.read_text())["version"]
            if installed != locked[f"node_modules/{name}"]["version"]:
                return False
    except (OSError, ValueError, KeyError):
        return False
    return True


def ensure_installed() -> Path:
    """`npm ci` in bench/peer when its node_modules is missing or not what the lock pins;
    returns the Node.js 22 binary from the `node` package."""
    if _installed_as_locked():
        return NODE
    npm = shutil.which("npm")
    if npm is None:
        raise ServerError(
            "PostGraphile needs npm to install bench/peer (Node.js 22 comes from npm as the "
            "`node` package): install Node.js with npm, or run with `--systems paved`"
        )
    log.info("installing PostGraphile and Node.js 22 into %s (npm ci)", PEER_DIR / "node_modules")
    try:
        completed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEER_DIR,
            capture_output=True,
            text=True,
            check=False,
            timeout=NPM_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise ServerError(f"npm ci in {PEER_DIR} took over {NPM_TIMEOUT_SECONDS} s") from error
    if completed.returncode != 0 or not NODE.is_file():
        output = (completed.stderr or completed.stdout).strip()[-2000:]
        raise ServerError(f"npm ci in {PEER_DIR} failed ({completed.returncode}):\n{output}")
    return NODE


def node_version(node: Path) -> str:
    completed = subprocess.run(
        [str(node), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return completed.stdout.strip() or "unknown"


def postgraphile_version() -> str:
    try:
        return str(json.loads(POSTGRAPHILE_PACKAGE.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


async def _apply(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def apply_schema(dsn: str) -> None:
    """The bench-only views and smart tags; run after every reseed (it drops `public`)."""
    asyncio.run(_apply(dsn, SCHEMA_SQL.read_text()))
    log.info("applied %s", SCHEMA_SQL.relative_to(PEER_DIR.parent.parent))


class PostGraphileServer(ServerProcess):
    """`node bench/peer/server.mjs` with NODE_ENV and GRAPHILE_ENV set to production; ready
    when `{ __typename }` answers 200 (it listens only once its schema is built)."""

    name = "PostGraphile"

    def __init__(self, node: Path, dsn: str, log_path: Path) -> None:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "PORT": str(port),
            "NODE_ENV": "production",
            "GRAPHILE_ENV": "production",
        }
        super().__init__([str(node), str(SERVER_SCRIPT)], port, log_path, PEER_DIR, env)

    def probe(self) -> str | None:
        try:
            status, payload = post_graphql(self.graphql_url, _PROBE, timeout=2)
        except OSError as error:
            return str(error)
        return None if status == 200 else f"HTTP {status}: {payload[:200]!r}"
