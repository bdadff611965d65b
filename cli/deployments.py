"""`paved deploy`, `promote`, `rollback`, `approve`, `reject`, `cancel`, `status`, `releases`:
deployments from a terminal, as a client of the GraphQL API over HTTP (never the database).

Where and with which credential: see `cli/client_commands.py`. Refusals in a mutation's
`errors`, and GraphQL errors, end with one line each on stderr (`paved: CODE: message (path)`)
and exit code 1; a failed or canceled deployment waited for (`--wait`) too. An unreachable API
ends with one line and exit code 3, a token refused (HTTP 401/403) with exit code 4, bad
settings with exit code 2 (`cli/framework.py`, `ExitCode`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from cli.api_client import Api, NoStream, Refused, Update
from cli.client_commands import Following, check_payload, given, print_json
from cli.deployment_documents import (
    APPROVE,
    CANCEL,
    DEPLOY,
    DEPLOYMENT_STATE,
    FOLLOW_DEPLOYMENT,
    FOLLOW_SERVICE,
    PROMOTE,
    REJECT,
    RELEASES,
    ROLLBACK,
    SERVICE_STATUS,
)
from cli.framework import (
    ApiUrlOption,
    ClientCall,
    ExitCode,
    IntervalOption,
    JsonOption,
    TimeoutOption,
    example,
    page_size,
)
from cli.output import show_table

FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "ROLLED_BACK", "INACTIVE"})
FAILED_STATES = frozenset({"FAILED", "CANCELED"})


def describe_deployment(deployment: dict[str, Any]) -> str:
    return (
        f"deployment #{deployment['number']} of {deployment['service']['slug']} "
        f"{deployment['version']} to {deployment['environment']['slug']} "
        f"({deployment['kind']}): {deployment['state']}  id {deployment['id']}"
    )


def _state_line(state: dict[str, Any]) -> str:
    extra = [part for part in (state.get("rawStatus"), state.get("statusMessage")) if part]
    return f"{state['state']}" + (f"  {' - '.join(extra)}" if extra else "")


async def follow_deployment(api: Api, args: Following, deployment: dict[str, Any]) -> int:
    """Follow the deployment to a final state, printing each change (as JSON with
    `args.json`): through the `deploymentUpdated` subscription, or by polling every
    `args.interval` when the server offers no stream; up to `args.timeout`. 0 when it
    succeeded; Refused (exit 1) when it failed, was canceled or the time ran out."""
    followed = _Followed(
        {key: deployment.get(key) for key in ("id", "state", "rawStatus", "statusMessage")}, args
    )
    try:
        async with asyncio.timeout(args.timeout):
            if followed.current["state"] not in FINAL_STATES:
                with contextlib.suppress(NoStream):
                    await _follow(api, followed)
            await _poll(api, followed)
    except TimeoutError:
        raise Refused(
            ExitCode.REFUSED,
            f"paved: gave up waiting after {args.timeout:g} s: deployment "
            f"{deployment['id']} is still {followed.current['state']}",
        ) from None
    current = followed.current
    if current["state"] in FAILED_STATES:
        message = current.get("statusMessage") or "no message"
        raise Refused(ExitCode.REFUSED, f"paved: deployment {current['state']}: {message}")
    return 0


class _Followed:
    """The deployment as last seen; each change printed once."""

    def __init__(self, current: dict[str, Any], args: Following) -> None:
        self.current = current
        self.args = args

    def saw(self, state: dict[str, Any]) -> None:
        if state != self.current:
            self.current = state
            if self.args.json:
                print_json(state)
            else:
                print(_state_line(state), flush=True)


async def _follow(api: Api, followed: _Followed) -> None:
    """Until a final state or the end of the stream (the server shutting down: polling
    takes over)."""
    async with api.subscription(FOLLOW_DEPLOYMENT, id=followed.current["id"]) as updates:
        async for update in updates:
            followed.saw(update.data["deploymentUpdated"])
            if followed.current["state"] in FINAL_STATES:
                return


async def _poll(api: Api, followed: _Followed) -> None:
    while followed.current["state"] not in FINAL_STATES:
        await asyncio.sleep(followed.args.interval)
        data = await api(DEPLOYMENT_STATE, id=followed.current["id"])
        polled = data.get("node")
        if not polled:
            raise Refused(
                ExitCode.REFUSED, f"paved: NOT_FOUND: deployment {followed.current['id']} is gone"
            )
        followed.saw(polled)


async def _started(api: Api, args: Following, wait: bool, payload: dict[str, Any]) -> int:
    """What deploy, promote and rollback print; then wait when asked."""
    check_payload(args.json, payload)
    deployment = payload["deployment"]
    if not args.json:
        print(describe_deployment(deployment), flush=True)
    if wait:
        return await follow_deployment(api, args, deployment)
    return 0


# --- the commands ----------------------------------------------------------------------------

ServiceArgument = Annotated[str, typer.Argument(metavar="SERVICE", help="the service's slug")]
EnvironmentArgument = Annotated[
    str, typer.Argument(metavar="ENVIRONMENT", help="the environment's slug")
]
DeploymentArgument = Annotated[
    str, typer.Argument(metavar="DEPLOYMENT_ID", help="the deployment's id")
]
IdempotencyKeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key", metavar="KEY", help="replays with this key return the first one"
    ),
]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="follow the deployment to a final state (exit 1 if it fails)")
]
CommentOption = Annotated[str | None, typer.Option("--comment", metavar="TEXT")]


def deploy(
    service: ServiceArgument,
    environment: EnvironmentArgument,
    version: Annotated[str, typer.Argument(metavar="VERSION", help="the version to deploy")],
    commit: Annotated[
        str | None,
        typer.Option("--commit", metavar="SHA", help="the commit the version was built from"),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
    idempotency_key: IdempotencyKeyOption = None,
    wait: WaitOption = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Deploy a version of a service to an environment."""
    following = Following(json, interval, timeout)

    async def work(api: Api) -> int:
        data = await api(
            DEPLOY,
            input=given(
                service=service,
                environment=environment,
                version=version,
                commitSha=commit,
                description=description,
                idempotencyKey=idempotency_key,
            ),
        )
        return await _started(api, following, wait, data["deploy"])

    return ClientCall(work, api_url)


def promote(
    service: ServiceArgument,
    from_environment: Annotated[
        str, typer.Argument(metavar="FROM_ENV", help="where the version succeeded")
    ],
    to_environment: Annotated[str, typer.Argument(metavar="TO_ENV", help="where it goes")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the plan only; change nothing")
    ] = False,
    idempotency_key: IdempotencyKeyOption = None,
    wait: WaitOption = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Deploy what succeeded in one environment to another."""
    following = Following(json, interval, timeout)

    async def work(api: Api) -> int:
        data = await api(
            PROMOTE,
            input=given(
                service=service,
                fromEnvironment=from_environment,
                toEnvironment=to_environment,
                idempotencyKey=idempotency_key,
                dryRun=dry_run or None,
            ),
        )
        payload = data["promote"]
        if not dry_run:
            return await _started(api, following, wait, payload)
        check_payload(json, payload)
        if not json:
            plan = payload["plan"]
            print(
                f"plan: promote {service} from {from_environment} to {to_environment}: "
                f"{plan['fromVersion'] or '(nothing)'} -> {plan['toVersion']}"
            )
            print(f"required approvals: {plan['requiredApprovals']}")
            print(f"frozen: {'yes' if plan['frozen'] else 'no'}")
            print("dry run: nothing changed")
        return 0

    return ClientCall(work, api_url)


def rollback(
    service: ServiceArgument,
    environment: EnvironmentArgument,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="DEPLOYMENT_ID", help="that deployment (default: the previous one)"
        ),
    ] = None,
    idempotency_key: IdempotencyKeyOption = None,
    wait: WaitOption = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Redeploy an earlier successful version."""
    following = Following(json, interval, timeout)

    async def work(api: Api) -> int:
        data = await api(
            ROLLBACK,
            input=given(
                service=service,
                environment=environment,
                toDeployment=to,
                idempotencyKey=idempotency_key,
            ),
        )
        return await _started(api, following, wait, data["rollback"])

    return ClientCall(work, api_url)


def _decide(
    document: str, field: str, deployment: str, comment: str | None, json: bool, api_url: str | None
) -> ClientCall:
    async def work(api: Api) -> int:
        data = await api(document, input=given(deployment=deployment, comment=comment))
        payload = data[field]
        check_payload(json, payload)
        if not json:
            print(describe_deployment(payload["deployment"]))
        return 0

    return ClientCall(work, api_url)


def approve(
    deployment: DeploymentArgument,
    comment: CommentOption = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Approve a deployment waiting for approval."""
    return _decide(APPROVE, "approveDeployment", deployment, comment, json, api_url)


def reject(
    deployment: DeploymentArgument,
    comment: CommentOption = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Reject (and so cancel) a deployment waiting for approval."""
    return _decide(REJECT, "rejectDeployment", deployment, comment, json, api_url)


def cancel(
    deployment: DeploymentArgument, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Cancel an unfinished deployment."""
    return _decide(CANCEL, "cancelDeployment", deployment, None, json, api_url)


@dataclass(frozen=True, slots=True)
class _Status:
    service: str
    json: bool
    interval: float


def status(
    service: ServiceArgument,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="then print each change of its deployments as it happens (until Ctrl-C)",
        ),
    ] = False,
    interval: IntervalOption = 2.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """What runs of a service in each environment, and what is coming."""
    args = _Status(service, json, interval)

    async def work(api: Api) -> int:
        if not follow:
            await _print_status(api, args)
            return 0
        try:
            last_id: str | None = None
            shown = False
            while True:  # the server ends streams when it shuts down: resume after the last
                async with api.subscription(FOLLOW_SERVICE, last_id, service=service) as updates:
                    if not shown:  # after subscribing: no change falls in between
                        await _print_status(api, args)
                        shown = True
                    last_id = await _print_updates(args, updates, last_id)
        except NoStream:
            await _poll_status(api, args)
        return 0

    return ClientCall(work, api_url)


async def _print_updates(
    args: _Status, updates: AsyncIterator[Update], last_id: str | None
) -> str | None:
    """Each change of a deployment of the service, as it happens, until the stream ends;
    the SSE id of the last one."""
    async for update in updates:
        last_id = update.event_id or last_id
        deployment = update.data["deploymentUpdated"]
        if args.json:
            print_json(deployment)
        else:
            print(
                f"{deployment['environment']['slug']}  {deployment['version']}  "
                f"#{deployment['number']}  {_state_line(deployment)}  id {deployment['id']}",
                flush=True,
            )
    return last_id


async def _poll_status(api: Api, args: _Status) -> None:
    """The status again whenever it changed, polled (a server without subscriptions)."""
    shown = await _print_status(api, args)
    while True:
        await asyncio.sleep(args.interval)
        data = await api(SERVICE_STATUS, slug=args.service)
        if data != shown:
            shown = await _print_status(api, args, data)


async def _print_status(
    api: Api, args: _Status, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    if data is None:
        data = await api(SERVICE_STATUS, slug=args.service)
    service = data.get("service")
    if service is None:
        if args.json:
            print_json(data)
        raise Refused(ExitCode.REFUSED, f"paved: NOT_FOUND: no service '{args.service}'")
    if args.json:
        print_json(data)
        return data
    rows = []
    for place in service["environments"]:
        current = place["current"] or {}
        pending = ", ".join(
            f"{d['version']} {d['state']} (#{d['number']}, id {d['id']})" for d in place["pending"]
        )
        rows.append(
            [
                place["environment"]["slug"],
                current.get("version"),
                current.get("state"),
                current.get("number"),
                current.get("finishedAt"),
                pending or None,
            ]
        )
    print(f"{service['slug']} ({service['name']})")
    show_table(["ENVIRONMENT", "VERSION", "STATE", "#", "FINISHED", "PENDING"], rows)
    sys.stdout.flush()
    return data


def releases(
    environment: Annotated[
        list[str] | None,
        typer.Option(
            "--environment",
            metavar="SLUG",
            help="only these environments, in this order; repeat for more",
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="TEAM", help="services this team (or a sub-team) owns"),
    ] = None,
    page_size_: Annotated[
        int, typer.Option("--page-size", parser=page_size, metavar="N", help="rows per request")
    ] = 100,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """The release matrix: which version of each service runs in each environment."""

    async def work(api: Api) -> int:
        rows: list[dict[str, Any]] = []
        after: str | None = None
        total = 0
        filter_ = {"owner": owner} if owner else None
        while True:
            data = await api(
                RELEASES,
                filter=filter_,
                environments=environment or None,
                first=page_size_,
                after=after,
            )
            page = data["releaseMatrix"]
            total = page["totalCount"]
            rows.extend(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        if json:
            print_json({"releaseMatrix": {"totalCount": total, "nodes": rows}})
            return 0
        if not rows:
            print("no services")
            return 0
        environments = [cell["environment"]["slug"] for cell in rows[0]["cells"]]
        show_table(
            ["SERVICE", *environments],
            [
                [
                    row["service"]["slug"],
                    *(
                        cell["current"]["version"] if cell["current"] else None
                        for cell in row["cells"]
                    ),
                ]
                for row in rows
            ],
        )
        return 0

    return ClientCall(work, api_url)


def register(app: typer.Typer) -> None:
    """Add the deployment commands to the root `paved` app."""
    app.command(
        epilog=example(
            "paved deploy pay-api staging 1.4.2 --commit abc1234 --wait",
            "paved deploy pay-api prod 1.4.2 --idempotency-key ci-run-42 --json",
        )
    )(deploy)
    app.command(
        epilog=example(
            "paved promote pay-api staging prod --dry-run",
            "paved promote pay-api staging prod --wait",
        )
    )(promote)
    app.command(epilog=example("paved rollback pay-api prod --wait"))(rollback)
    app.command(epilog=example("paved approve RGVwbG95bWVudDo0Mg== --comment 'looks good'"))(
        approve
    )
    app.command(epilog=example("paved reject RGVwbG95bWVudDo0Mg== --comment 'not today'"))(reject)
    app.command(epilog=example("paved cancel RGVwbG95bWVudDo0Mg=="))(cancel)
    app.command(epilog=example("paved status pay-api", "paved status pay-api --follow --json"))(
        status
    )
    app.command(
        epilog=example("paved releases --environment staging --environment prod --owner payments")
    )(releases)
