"""Issue 17, findings 3 and 5, written as the attacks: an admin (or a stolen admin token) points
a provider's secret settings at the server's own secrets and its URLs at internal addresses, or
at a name that rebinds to loopback after it was saved; and a provider's error body reaches
every reader through a deployment's status message.

What must hold: secrets come only from `PAVED_SECRET_*` variables and files under
`PAVED_SECRETS_DIR` (anything else: VALIDATION naming the setting, nothing saved); provider URLs
reach no loopback, private, link-local or metadata address unless private addresses are
allowed, checked when saved and again when connecting, after resolving the name (a refused
connection: the deployment FAILED, and the listener never hears of it); and status messages
carry the status, never the body.

Most tests run on an app whose settings refuse private addresses (`PAVED_PROVIDER_ALLOW_PRIVATE
=false`, as production does by default) and name a secrets directory; the positive controls run
on the suite's development app, where the fakes on loopback are allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from api.settings import Settings
from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.app import forget_providers, in_process_client, started_app
from tests.support.deployer_fakes.argocd_api import Reply as ArgoReply
from tests.support.deployer_fakes.argocd_api import error_body, running_argocd
from tests.support.deployer_fakes.kubernetes_api import running_kubernetes_api
from tests.support.deployer_fakes.receiver import Reply, running_receiver
from tests.support.deployments import settled
from tests.support.graphql import GraphQLClient
from tests.support.logs import no_tracebacks
from tests.support.waiting import until

REBINDING = "rebind.paved.test"
"""A name the attacker's DNS answers with a public address first, and 127.0.0.1 after."""
INTRANET = "intranet.paved.test"
"""A name that resolves to a private address."""
PUBLIC = "93.184.216.34"
BODY_MARKER = "internal-secret-body-XYZ"
NS = "apps"
IMAGE = "registry.example.com/{service}:{version}"
DEPLOYMENT = """
query($id: ID!) {
  node(id: $id) {
    ... on Deployment { state rawStatus statusMessage history { state rawStatus message source } }
  }
}
"""


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PAVED_SECRETS_DIR: a token inside, a symlink escaping it, and a file beside it."""
    base = tmp_path_factory.mktemp("secrets-base")
    directory = base / "secrets"
    directory.mkdir()
    (directory / "kube-token").write_text("sa-token-inside\n")
    (base / "outside-token").write_text("outside\n")
    (directory / "escape").symlink_to("/etc/passwd")
    (directory / "sideways").symlink_to(base / "outside-token")
    return directory


@pytest.fixture(scope="module")
async def guarded_app(test_settings: Settings, secrets_dir: Path) -> AsyncIterator[Starlette]:
    """The app as production configures it: private addresses refused, a secrets directory."""
    settings = test_settings.model_copy(
        update={"provider_allow_private": False, "secrets_dir": secrets_dir}
    )
    async with started_app(settings) as app:
        yield app


@pytest.fixture
async def admin(guarded_app: Starlette, pool: asyncpg.Pool) -> AsyncIterator[GraphQLClient]:
    """The guarded app's local admin (development: requests without credentials), over an
    empty catalog."""
    await forget_providers(guarded_app)
    async with in_process_client(guarded_app) as http:
        yield GraphQLClient(http)
    await forget_providers(guarded_app)


@dataclass
class Dns:
    """Stands in for DNS in the event loop's resolver, which the server's every lookup goes
    through (the check's and any a client library would make), for the names in `answers`."""

    answers: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture
async def dns(monkeypatch: pytest.MonkeyPatch) -> Dns:
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    scripted = Dns()

    async def getaddrinfo(
        host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in scripted.answers:
            return await real(host, port, family=family, type=type, proto=proto, flags=flags)
        scripted.lookups.append(name)
        address = scripted.answers[name]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port or 0))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return scripted


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 recording every connection and every byte it receives."""

    port: int = 0
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    heard = Listener()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.connections += 1
        with contextlib.suppress(TimeoutError):
            heard.received += await asyncio.wait_for(reader.read(65_536), 2)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    heard.port = server.sockets[0].getsockname()[1]
    async with server:
        yield heard


pytestmark = pytest.mark.usefixtures("retries_without_waiting")


async def create_environment(
    gql: GraphQLClient, kind: str, settings: dict[str, Any], slug: str = "target"
) -> dict[str, Any]:
    return await gql.mutate(
        "createEnvironment", "environment { slug }", slug=slug, name=slug, tier="PRODUCTION",
        provider={"kind": kind, "settings": settings},
    )  # fmt: skip


def refused_naming(payload: dict[str, Any], setting: str) -> str:
    """The single VALIDATION error's message, which must name `setting` at its path."""
    assert payload.get("environment") is None, payload
    [error] = payload["errors"]
    assert (error["code"], error["path"]) == (
        "VALIDATION",
        ["input", "provider", "settings", setting],
    ), error
    assert f"setting {setting}:" in error["message"]
    return str(error["message"])


async def nothing_saved(pool: asyncpg.Pool) -> None:
    assert await pool.fetchval("SELECT count(*) FROM environments") == 0


def kubernetes(**settings: Any) -> dict[str, Any]:
    base = {"apiUrl": "https://kubernetes.example.com", "namespace": NS, "image": IMAGE}
    return {**base, **settings}


# --- finding 3: secrets only from the allow-list ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "settings", "setting"),
    [
        ("kubernetes", kubernetes(tokenEnv="DATABASE_URL"), "tokenEnv"),
        ("kubernetes", kubernetes(tokenEnv="PAVED_ENV"), "tokenEnv"),
        ("kubernetes", kubernetes(tokenEnv="PAVED_SECRET_"), "tokenEnv"),
        ("kubernetes", kubernetes(tokenFile="/etc/passwd"), "tokenFile"),
        ("kubernetes", kubernetes(tokenFile="{dir}/../outside-token"), "tokenFile"),
        ("kubernetes", kubernetes(tokenFile="{dir}/escape"), "tokenFile"),
        ("kubernetes", kubernetes(tokenFile="{dir}/sideways"), "tokenFile"),
        ("kubernetes", kubernetes(tokenFile="{dir}"), "tokenFile"),
        ("kubernetes", {"kubeconfigFile": "/etc/passwd", "namespace": NS, "image": IMAGE},
         "kubeconfigFile"),
        ("kubernetes", {"kubeconfigEnv": "DATABASE_URL", "namespace": NS, "image": IMAGE},
         "kubeconfigEnv"),
        ("webhook", {"url": "https://hooks.example.com/deploy", "secretEnv": "DATABASE_URL"},
         "secretEnv"),
        ("argocd", {"serverUrl": "https://argocd.example.com", "tokenEnv": "PAVED_ENV"},
         "tokenEnv"),
    ],
)  # fmt: skip
async def test_a_setting_naming_a_secret_outside_the_allow_list_is_refused_and_nothing_saved(
    admin: GraphQLClient,
    pool: asyncpg.Pool,
    secrets_dir: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    settings: dict[str, Any],
    setting: str,
) -> None:
    settings = {
        name: value.replace("{dir}", str(secrets_dir)) if isinstance(value, str) else value
        for name, value in settings.items()
    }
    message = refused_naming(await create_environment(admin, kind, settings), setting)
    assert "PAVED_SECRET" in message
    await nothing_saved(pool)
    no_tracebacks(caplog)


async def test_updating_a_provider_to_read_the_database_url_is_refused_and_changes_nothing(
    admin: GraphQLClient, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    created = await create_environment(admin, "simulated", {"durationSeconds": 0})
    assert created["errors"] == []
    for change in ({"tokenEnv": "DATABASE_URL"}, {"tokenFile": "/etc/passwd"}):
        updated = await admin.mutate(
            "updateEnvironment", "environment { version }", environment="target",
            expectedVersion=1, provider={"kind": "kubernetes", "settings": kubernetes(**change)},
        )  # fmt: skip
        refused_naming(updated, next(iter(change)))
    row = await pool.fetchrow(
        "SELECT provider_kind, provider_settings FROM environments WHERE slug = 'target'"
    )
    assert row is not None
    assert (row["provider_kind"], row["provider_settings"]) == (
        "simulated",
        {"durationSeconds": 0},
    )
    no_tracebacks(caplog)


async def test_a_paved_secret_variable_and_a_file_in_the_secrets_dir_are_accepted(
    admin: GraphQLClient, pool: asyncpg.Pool, secrets_dir: Path
) -> None:
    accepted = [
        ("by-env", "kubernetes", kubernetes(tokenEnv="PAVED_SECRET_KUBE_TOKEN")),
        ("by-file", "kubernetes", kubernetes(tokenFile=str(secrets_dir / "kube-token"))),
        ("by-dots", "kubernetes", kubernetes(tokenFile=f"{secrets_dir}/../secrets/kube-token")),
        (
            "hook",
            "webhook",
            {"url": "https://hooks.example.com/deploy", "secretEnv": "PAVED_SECRET_HOOK"},
        ),
    ]
    for slug, kind, settings in accepted:
        created = await create_environment(admin, kind, settings, slug)
        assert created["errors"] == [], created
        saved = await pool.fetchval(
            "SELECT provider_settings FROM environments WHERE slug = $1", slug
        )
        assert saved == settings


# --- finding 3: provider URLs follow the address rule -------------------------------------


@pytest.mark.parametrize(
    ("kind", "settings", "setting"),
    [
        ("webhook", {"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ("webhook", {"url": "http://127.0.0.1:{port}/deploy"}, "url"),
        ("webhook", {"url": "http://[::ffff:127.0.0.1]/"}, "url"),
        ("webhook", {"url": "http://[::ffff:a9fe:a9fe]/latest/meta-data"}, "url"),
        ("webhook", {"url": "http://10.0.0.1/"}, "url"),
        ("webhook", {"url": "http://0.0.0.0:8000/"}, "url"),
        ("webhook", {"url": "http://metadata.google.internal/computeMetadata/v1/"}, "url"),
        ("webhook", {"url": "http://localhost:{port}/"}, "url"),
        ("webhook", {"url": f"https://{INTRANET}/deploy"}, "url"),
        ("webhook", {"url": "https://hooks.example.com/", "cancelUrl": "http://[fd00:ec2::254]/"},
         "cancelUrl"),
        ("argocd", {"serverUrl": "https://169.254.169.254"}, "serverUrl"),
        ("argocd", {"serverUrl": "https://10.0.0.1"}, "serverUrl"),
        ("argocd", {"serverUrl": f"https://{INTRANET}"}, "serverUrl"),
        ("kubernetes", kubernetes(apiUrl="https://10.0.0.1:6443"), "apiUrl"),
        ("kubernetes", kubernetes(apiUrl="https://[::1]:6443"), "apiUrl"),
        ("kubernetes", kubernetes(apiUrl="https://100.100.100.200"), "apiUrl"),
        ("kubernetes", kubernetes(apiUrl=f"https://{INTRANET}:6443"), "apiUrl"),
    ],
)  # fmt: skip
async def test_a_provider_url_to_an_internal_address_is_refused_when_saved(
    admin: GraphQLClient,
    pool: asyncpg.Pool,
    dns: Dns,
    listener: Listener,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    settings: dict[str, Any],
    setting: str,
) -> None:
    dns.answers[INTRANET] = "10.1.2.3"
    secret = {"webhook": "secretEnv", "argocd": "tokenEnv"}.get(kind, "tokenEnv")
    settings = {
        secret: "PAVED_SECRET_X",
        **{name: value.replace("{port}", str(listener.port)) for name, value in settings.items()},
    }
    message = refused_naming(await create_environment(admin, kind, settings), setting)
    assert "address" in message or "name" in message or "metadata" in message
    await nothing_saved(pool)
    assert listener.connections == 0
    no_tracebacks(caplog)


async def test_cloud_metadata_is_refused_even_where_private_addresses_are_allowed(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    settings = {"url": "http://169.254.169.254/latest/meta-data", "secretEnv": "PAVED_SECRET_X"}
    message = refused_naming(await create_environment(gql, "webhook", settings), "url")
    assert "169.254.169.254 is a cloud metadata address" in message
    await nothing_saved(pool)


# --- finding 3: a name that rebinds to loopback after it was saved ------------------------


def rebinding_settings(kind: str, port: int, secret_env: str) -> dict[str, Any]:
    if kind == "webhook":
        return {"url": f"http://{REBINDING}:{port}/deploy", "secretEnv": secret_env}
    if kind == "argocd":
        return {"serverUrl": f"https://{REBINDING}:{port}", "tokenEnv": secret_env}
    return kubernetes(apiUrl=f"https://{REBINDING}:{port}", tokenEnv=secret_env)


async def deploy(gql: GraphQLClient, environment: str = "target") -> str:
    deployed = await gql.mutate(
        "deploy", "deployment { id }", service="pay-api", environment=environment, version="1.0.0"
    )
    assert deployed["errors"] == [], deployed
    return str(deployed["deployment"]["id"])


async def service(gql: GraphQLClient) -> None:
    created = await gql.mutate("createTeam", "team { slug }", slug="pay", name="pay")
    assert created["errors"] == []
    created = await gql.mutate(
        "createService", "service { slug }", slug="pay-api", name="pay", owner="pay"
    )
    assert created["errors"] == []


@pytest.mark.parametrize("kind", ["webhook", "argocd", "kubernetes"])
async def test_a_name_rebound_to_loopback_after_saving_is_refused_when_connecting(
    admin: GraphQLClient,
    guarded_app: Starlette,
    pool: asyncpg.Pool,
    dns: Dns,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    secret = "stolen-" + secrets.token_hex(16)
    monkeypatch.setenv("PAVED_SECRET_REBIND", secret)
    await service(admin)
    dns.answers[REBINDING] = PUBLIC  # what the attacker's DNS answers while the admin saves
    created = await create_environment(
        admin, kind, rebinding_settings(kind, listener.port, "PAVED_SECRET_REBIND")
    )
    assert created["errors"] == [], created
    assert dns.lookups == [REBINDING]  # the name was checked when saved
    dns.answers[REBINDING] = "127.0.0.1"  # ...and rebound afterwards

    deployment_id = await deploy(admin)
    await settled(guarded_app)

    found = (await admin(DEPLOYMENT, id=deployment_id))["node"]
    assert found["state"] == "FAILED"
    assert found["history"][-1]["source"] == f"provider:{kind}"
    message = found["statusMessage"]
    assert f"not connecting: {REBINDING} resolves to a loopback address" in message, message
    assert "127.0.0.1" not in message
    assert len(dns.lookups) > 1  # resolved again when connecting
    assert (listener.connections, bytes(listener.received)) == (0, b"")
    assert secret not in caplog.text
    no_tracebacks(caplog)


@pytest.mark.parametrize("kind", ["webhook", "argocd", "kubernetes"])
async def test_an_allowed_provider_gets_the_paved_secret_value(
    gql: GraphQLClient,
    dns: Dns,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """The positive control: where loopback is allowed (development), the same kind of
    configuration reaches the local listener with the PAVED_SECRET_ value, through the very
    resolver the rebinding test scripts (the webhook) or through `localhost`."""
    secret = "granted-" + secrets.token_hex(16)
    monkeypatch.setenv("PAVED_SECRET_GRANTED", secret)
    dns.answers[REBINDING] = "127.0.0.1"
    await service(gql)
    if kind == "webhook":
        with running_receiver(secret) as receiver:
            settings = {
                "url": f"http://{REBINDING}:{receiver.port}/deploy",
                "secretEnv": "PAVED_SECRET_GRANTED",
            }
            assert (await create_environment(gql, kind, settings))["errors"] == []
            await deploy(gql)
            await until(lambda: bool(receiver.requests))
            [received] = receiver.requests
        assert received.signature_valid  # signed with the PAVED_SECRET_ value
        assert received.headers["host"] == f"{REBINDING}:{receiver.port}"
        assert REBINDING in dns.lookups
    elif kind == "argocd":
        with running_argocd(secret) as argocd:
            argocd.add_app("pay-api-target")
            settings = {
                "serverUrl": f"http://localhost:{argocd.port}",
                "tokenEnv": "PAVED_SECRET_GRANTED",
            }
            assert (await create_environment(gql, kind, settings))["errors"] == []
            await deploy(gql)
            await until(lambda: len(argocd.requests) >= 3)  # GET, PATCH, POST sync
            authorizations = {seen.headers["authorization"] for seen in argocd.requests}
        assert authorizations == {f"Bearer {secret}"}
    else:
        with running_kubernetes_api(secret) as api:
            api.add_deployment(NS, "pay-api", "registry.example.com/pay-api:0.9.0")
            port = api.url.rsplit(":", 1)[1]
            settings = kubernetes(
                apiUrl=f"http://localhost:{port}", tokenEnv="PAVED_SECRET_GRANTED"
            )
            assert (await create_environment(gql, kind, settings))["errors"] == []
            await deploy(gql)
            await until(lambda: len(api.requests) >= 2)  # GET, PATCH
            authorizations = {seen.headers["authorization"] for seen in api.requests}
        assert authorizations == {f"Bearer {secret}"}


# --- finding 5: a provider's error body never reaches readers -----------------------------


@pytest.mark.parametrize("kind", ["webhook", "argocd", "kubernetes"])
async def test_a_providers_error_body_never_reaches_a_reader(
    gql: GraphQLClient,
    app: Starlette,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    caplog.set_level(logging.INFO)
    secret = "s-" + secrets.token_hex(16)
    monkeypatch.setenv("PAVED_SECRET_PROVIDER", secret)
    store = await seed(gql, pool)
    reader = gql.with_token(await token(store, Scope.READ, user="bob"))
    body = {"kind": "Status", "message": f'secret "{BODY_MARKER}" not found', "code": 404}
    if kind == "webhook":
        with running_receiver(secret) as receiver:
            receiver.script.append(Reply(404, body))
            settings = {"url": f"{receiver.url}/deploy", "secretEnv": "PAVED_SECRET_PROVIDER"}
            expected = f"webhook receiver {receiver.url} refused the request: HTTP 404 Not Found"
            assert (await create_environment(gql, kind, settings))["errors"] == []
            deployment_id = await deploy(gql)
            await settled(app)
    elif kind == "argocd":
        with running_argocd(secret) as argocd:
            argocd.script.append(ArgoReply(403, error_body(f"denied: {BODY_MARKER}", 7)))
            settings = {"serverUrl": argocd.url, "tokenEnv": "PAVED_SECRET_PROVIDER"}
            expected = "Argo CD GET application pay-api-target refused: HTTP 403 Forbidden"
            assert (await create_environment(gql, kind, settings))["errors"] == []
            deployment_id = await deploy(gql)
            await settled(app)
    else:
        with running_kubernetes_api(secret) as api:
            api.fail_next(404, message=f'secret "{BODY_MARKER}" not found')
            settings = kubernetes(apiUrl=api.url, tokenEnv="PAVED_SECRET_PROVIDER")
            expected = f"kubernetes API refused GET deployment {NS}/pay-api: HTTP 404 Not Found"
            assert (await create_environment(gql, kind, settings))["errors"] == []
            deployment_id = await deploy(gql)
            await settled(app)

    response = await reader.http.post(
        "/graphql",
        json={"query": DEPLOYMENT, "variables": {"id": deployment_id}},
        headers=reader.headers,
    )
    assert response.status_code == 200, response.text
    found = response.json()["data"]["node"]
    assert found["state"] == "FAILED"
    assert found["statusMessage"] == expected  # the status and its class, nothing more
    assert found["history"][-1]["message"] == expected
    assert "internal" not in response.text
    assert BODY_MARKER not in response.text
    stored = await pool.fetchval(
        "SELECT string_agg(to_jsonb(d)::text || coalesce(e.message, ''), ' ') "
        "FROM deployments d JOIN deployment_events e ON e.deployment_id = d.id"
    )
    assert expected in stored
    assert BODY_MARKER not in stored
    assert BODY_MARKER not in "\n".join(
        record.getMessage() for record in caplog.records if record.levelno >= logging.INFO
    )
    no_tracebacks(caplog)
