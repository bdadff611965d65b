"""`paved serve` as a real process, the way `make run` starts it: embedded PostgreSQL in the
data folder, migrations, the demo organisation, the probes and GraphQL; Ctrl-C / SIGTERM stop
the process and its database; a second start reuses the data; with DATABASE_URL nothing
is embedded."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx2 as httpx
import psutil  # type: ignore[import-untyped]
from cryptography.fernet import Fernet

from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.database import create_pool
from tests.support.network import free_port
from tests.support.processes import clean_environment, paved_command, scratch_database

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
# How long to wait for the process to exit after a signal before giving up on it: a safety
# net so that a process that ignores the signal fails the test instead of hanging it, not a
# speed requirement. A signal during start-up is handled once start-up ends (uvicorn finishes
# the lifespan's start: migrations, the demo organisation), which takes a while on a loaded
# machine.
EXIT_TIMEOUT = 120.0
POSTGRES_GONE_TIMEOUT = 5.0
TOTALS = "{ teams { totalCount } users { totalCount } services { totalCount } }"


# --- processes --------------------------------------------------------------------------


def _alive(process: Any) -> bool:
    """Running and not a zombie (a zombie holds no socket, memory or files any more)."""
    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postgres_servers(data_dir: Path) -> list[Any]:
    """Live `postgres` processes whose command line mentions `data_dir`."""
    needle = str(data_dir.resolve())
    found: list[Any] = []
    for process in psutil.process_iter(["name", "cmdline"]):
        name: str = process.info["name"] or ""
        cmdline: list[str] = process.info["cmdline"] or []
        if "postgres" in name and any(needle in part for part in cmdline) and _alive(process):
            found.append(process)
    return found


def postmaster_family(data_dir: Path) -> list[Any]:
    """The embedded server's postmaster (from postmaster.pid) and all its children."""
    pid_file = data_dir / "pg" / "postmaster.pid"
    pid = int(pid_file.read_text().splitlines()[0])
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def wait_until_gone(processes: list[Any], timeout: float) -> list[Any]:
    """The processes still alive after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = [process for process in processes if _alive(process)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [process for process in alive if _alive(process)]
    return alive


def _stop_postgres_in(data_dir: Path) -> None:
    """Last resort after a failure: end the servers this test started in its own folder."""
    for process in postgres_servers(data_dir):
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            continue
    for process in wait_until_gone(postgres_servers(data_dir), 5.0):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue


# --- a served instance ------------------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def describe(self) -> str:
        tail = "\n".join(self.log().splitlines()[-40:])
        return f"paved serve (exit code {self.process.poll()}); last lines of its log:\n{tail}"

    def wait_ready(self, client: httpx.Client, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"exited before it was ready; {self.describe()}"
            try:
                response = client.get(f"{self.base_url}/readyz", timeout=2.0)
            except httpx.TransportError as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text}"
            time.sleep(0.1)
        raise AssertionError(
            f"GET /readyz not 200 after {timeout:.0f} s ({last}); {self.describe()}"
        )

    def stop(self, sig: signal.Signals) -> int:
        """Send `sig` and wait for the process to exit of itself; its exit code. How it ended
        is for the caller to check (the code, the log); the wait only gives up after
        EXIT_TIMEOUT, on a process that ignored the signal."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {EXIT_TIMEOUT:.0f} s after {sig.name}; {self.describe()}"
            ) from None


@contextmanager
def paved_serve(workdir: Path, data_dir: Path, name: str, **environment: str) -> Iterator[Served]:
    """`paved serve --port <free> --data-dir <data_dir>` in `workdir`; whatever happens,
    nothing it started outlives the block."""
    port = free_port(HOST)
    log_path = workdir / f"{name}.log"
    log_file: IO[bytes]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*paved_command(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=workdir,
            env=clean_environment(**environment),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C on pytest does not reach it; we send the signals.
            start_new_session=True,
        )
        try:
            yield Served(process, port, data_dir, log_path)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            _stop_postgres_in(data_dir)


def graphql(
    client: httpx.Client, served: Served, query: str, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(f"{served.base_url}/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def totals(client: httpx.Client, served: Served, token: str | None = None) -> dict[str, int]:
    data = graphql(client, served, TOTALS, token)
    return {kind: int(connection["totalCount"]) for kind, connection in data.items()}


def check_serving(client: httpx.Client, served: Served) -> dict[str, int]:
    """Probes, GraphQL with the demo organisation, GraphiQL; returns the catalog totals."""
    served.wait_ready(client)

    health = client.get(f"{served.base_url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = client.get(f"{served.base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "up"}

    counts = totals(client, served)  # no credential: development mode's local admin
    assert "requests without credentials act as the local admin" in served.log()
    assert counts["teams"] > 0, counts  # the demo organisation is there
    assert counts["users"] > 0, counts
    assert counts["services"] > 0, counts

    ide = client.get(f"{served.base_url}/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    assert ide.headers["content-type"].startswith("text/html")
    assert "graphiql" in ide.text.lower()
    return counts


def assert_clean_exit(served: Served, code: int, sig: signal.Signals) -> None:
    """`sig` ended the process through its whole shutdown: the exit code it gives, the
    application's shutdown run to its end, and the embedded database (if any) stopped."""
    log = served.log()
    # SIGINT (Ctrl-C) ends with 0; uvicorn re-raises SIGTERM, so that one ends by the signal.
    expected = {0} if sig == signal.SIGINT else {0, -sig.value}
    assert code in expected, f"exit code {code} after {sig.name}; {served.describe()}"
    assert "Traceback" not in log, served.describe()
    assert "Application shutdown complete" in log, served.describe()
    assert "Finished server process" in log, served.describe()
    if "embedded PostgreSQL running" in log:
        assert "embedded PostgreSQL stopped" in log, served.describe()


# --- the tests --------------------------------------------------------------------------


def test_serve_with_embedded_postgres_stops_cleanly_and_reuses_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with httpx.Client() as client:
        # First start: a new cluster, migrations, the demo organisation.
        with paved_serve(tmp_path, data_dir, "first") as served:
            first_totals = check_serving(client, served)
            assert (data_dir / "pg" / "PG_VERSION").is_file()
            family = postmaster_family(data_dir)
            assert postgres_servers(data_dir), "the postmaster should mention the data folder"
            log = served.log()
            assert "applied migration" in log
            assert "loaded the demo organisation" in log

            code = served.stop(signal.SIGINT)
            assert_clean_exit(served, code, signal.SIGINT)
            assert wait_until_gone(family, POSTGRES_GONE_TIMEOUT) == []
            assert postgres_servers(data_dir) == []
            assert not (data_dir / "pg" / "postmaster.pid").exists()

        # Second start on the same folder: same data, nothing applied or loaded again.
        with paved_serve(tmp_path, data_dir, "second") as served:
            assert check_serving(client, served) == first_totals
            family = postmaster_family(data_dir)
            log = served.log()
            assert "applied migration" not in log
            assert "loaded the demo organisation" not in log

            code = served.stop(signal.SIGTERM)
            assert_clean_exit(served, code, signal.SIGTERM)
            assert wait_until_gone(family, POSTGRES_GONE_TIMEOUT) == []
            assert postgres_servers(data_dir) == []
            assert not (data_dir / "pg" / "postmaster.pid").exists()


async def _reader_token(dsn: str) -> str:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        store = PostgresAccessStore(pool)
        await store.create_user("reader", "Reader", "reader@example.com", admin=False)
        _, secret = await store.create_token(
            user_handle="reader", client_slug=None, name="ci", scopes=[Scope.READ], expires_at=None
        )
        return secret
    finally:
        await pool.close()


def _serve_on(dsn: str, workdir: Path) -> dict[str, int]:
    data_dir = workdir / "data"
    with (
        httpx.Client() as client,
        paved_serve(workdir, data_dir, "url", DATABASE_URL=dsn) as served,
    ):
        counts = check_serving(client, served)
        # Nothing embedded: no cluster folder, no server for this folder.
        assert not (data_dir / "pg").exists()
        assert postgres_servers(data_dir) == []
        assert "embedded PostgreSQL" not in served.log()

        code = served.stop(signal.SIGTERM)
        assert_clean_exit(served, code, signal.SIGTERM)
        assert not (data_dir / "pg").exists()

    # Again in production mode: same data (no second demo), no GraphiQL, credentials needed
    # (the token's user is one more user).
    with (
        httpx.Client() as client,
        paved_serve(
            workdir,
            data_dir,
            "url-production",
            DATABASE_URL=dsn,
            PAVED_ENV="production",
            PAVED_WEBHOOK_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ) as served,
    ):
        served.wait_ready(client)
        anonymous = client.post(f"{served.base_url}/graphql", json={"query": TOTALS})
        assert anonymous.status_code == 401
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        token = asyncio.run(_reader_token(dsn))
        with_reader = {**counts, "users": counts["users"] + 1}
        assert totals(client, served, token) == with_reader
        assert "loaded the demo organisation" not in served.log()
        assert "act as the local admin" not in served.log()
        ide = client.get(
            f"{served.base_url}/graphql",
            headers={"Accept": "text/html", "Authorization": f"Bearer {token}"},
        )
        assert ide.status_code == 404, ide.text
        assert not ide.headers.get("content-type", "").startswith("text/html"), ide.text
        assert "<html" not in ide.text.lower()

        code = served.stop(signal.SIGINT)
        assert_clean_exit(served, code, signal.SIGINT)
        assert not (data_dir / "pg").exists()
    return counts


async def test_serve_with_database_url_embeds_nothing(database_url: str, tmp_path: Path) -> None:
    async with scratch_database(database_url) as dsn:
        counts = await asyncio.to_thread(_serve_on, dsn, tmp_path)
        # It migrated and loaded the demo organisation into DATABASE_URL's database.
        connection = await asyncpg.connect(dsn)
        try:
            assert await connection.fetchval("SELECT count(*) FROM teams") == counts["teams"]
            assert await connection.fetchval("SELECT count(*) FROM users") == counts["users"] + 1
            assert await connection.fetchval("SELECT count(*) FROM schema_migrations") > 0
        finally:
            await connection.close()


def _wait_for_log(served: Served, text: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while text not in served.log():
        assert served.process.poll() is None, f"exited before logging {text!r}; {served.describe()}"
        assert time.monotonic() < deadline, f"never logged {text!r}; {served.describe()}"
        time.sleep(0.02)


def test_ctrl_c_during_start_up_still_stops_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with paved_serve(tmp_path, data_dir, "early") as served:
        # uvicorn handles signals from here on; the embedded server is being set up.
        _wait_for_log(served, "Waiting for application startup.")
        code = served.stop(signal.SIGINT)
        assert_clean_exit(served, code, signal.SIGINT)
        assert "embedded PostgreSQL stopped" in served.log(), served.describe()
        assert wait_until_gone(postgres_servers(data_dir), POSTGRES_GONE_TIMEOUT) == []


def test_a_busy_port_stops_postgres_and_exits_non_zero(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((HOST, 0))
        squatter.listen()
        port: int = squatter.getsockname()[1]
        log_path = tmp_path / "busy.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [*paved_command(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                cwd=tmp_path,
                env=clean_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = process.wait(READY_TIMEOUT)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(5)
                _stop_postgres_in(data_dir)
    log = log_path.read_text(errors="replace")
    assert code == 3, log  # uvicorn's start-up failure
    assert "address already in use" in log
    assert "embedded PostgreSQL stopped" in log
    assert postgres_servers(data_dir) == []


def test_after_a_hard_kill_the_next_clean_stop_still_stops_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with httpx.Client() as client, paved_serve(tmp_path, data_dir, "killed") as served:
        served.wait_ready(client)
        served.process.kill()
        served.process.wait(EXIT_TIMEOUT)
        # The orphaned server goes too when the next process on this folder stops.
        assert postgres_servers(data_dir)
        with paved_serve(tmp_path, data_dir, "after-kill") as again:
            check_serving(client, again)
            code = again.stop(signal.SIGTERM)
            assert_clean_exit(again, code, signal.SIGTERM)
            # `pg_ctl stop` waits for the shutdown, so there is no need to wait long here.
            assert wait_until_gone(postgres_servers(data_dir), 2.0) == []
