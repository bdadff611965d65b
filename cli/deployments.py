"""`paved deploy`, `promote`, `rollback`, `approve`, `reject`, `cancel`, `status`, `releases`:
deployments from a terminal, as a client of the GraphQL API over HTTP (never the database).

Where: `PAVED_API_URL` (or `--api-url`); credential: `PAVED_TOKEN`, sent as a bearer token and
never taken on the command line nor printed. Refusals in a mutation's `errors`, and GraphQL
errors, end with one line each on stderr (`paved: CODE: message (path)`) and exit code 1;
an unreachable API, HTTP 401/403/429 and bad settings with one line and exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from cli.api_client import Api, NoStream, Refused, Update
from cli.client_commands import (
    Command,
    OneLineParser,
    Subcommands,
    Transport,
    blocking,
    check_payload,
    client_options,
    given,
    page_size,
    print_json,
    run_command,
    seconds,
    table,
    waiting_options,
)
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


async def follow_deployment(api: Api, args: argparse.Namespace, deployment: dict[str, Any]) -> int:
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
            1,
            f"paved: gave up waiting after {args.timeout:g} s: deployment "
            f"{deployment['id']} is still {followed.current['state']}",
        ) from None
    current = followed.current
    if current["state"] in FAILED_STATES:
        message = current.get("statusMessage") or "no message"
        raise Refused(1, f"paved: deployment {current['state']}: {message}")
    return 0


class _Followed:
    """The deployment as last seen; each change printed once."""

    def __init__(self, current: dict[str, Any], args: argparse.Namespace) -> None:
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
            raise Refused(1, f"paved: NOT_FOUND: deployment {followed.current['id']} is gone")
        followed.saw(polled)


async def _started(api: Api, args: argparse.Namespace, payload: dict[str, Any]) -> int:
    """What deploy, promote and rollback print; then wait when asked."""
    check_payload(args, payload)
    deployment = payload["deployment"]
    if not args.json:
        print(describe_deployment(deployment), flush=True)
    if args.wait:
        return await follow_deployment(api, args, deployment)
    return 0


async def deploy(api: Api, args: argparse.Namespace) -> int:
    data = await api(
        DEPLOY,
        input=given(
            service=args.service,
            environment=args.environment,
            version=args.version,
            commitSha=args.commit,
            description=args.description,
            idempotencyKey=args.idempotency_key,
        ),
    )
    return await _started(api, args, data["deploy"])


async def promote(api: Api, args: argparse.Namespace) -> int:
    data = await api(
        PROMOTE,
        input=given(
            service=args.service,
            fromEnvironment=args.from_environment,
            toEnvironment=args.to_environment,
            idempotencyKey=args.idempotency_key,
            dryRun=args.dry_run or None,
        ),
    )
    payload = data["promote"]
    if not args.dry_run:
        return await _started(api, args, payload)
    check_payload(args, payload)
    if not args.json:
        plan = payload["plan"]
        print(
            f"plan: promote {args.service} from {args.from_environment} to "
            f"{args.to_environment}: {plan['fromVersion'] or '(nothing)'} -> {plan['toVersion']}"
        )
        print(f"required approvals: {plan['requiredApprovals']}")
        print(f"frozen: {'yes' if plan['frozen'] else 'no'}")
        print("dry run: nothing changed")
    return 0


async def rollback(api: Api, args: argparse.Namespace) -> int:
    data = await api(
        ROLLBACK,
        input=given(
            service=args.service,
            environment=args.environment,
            toDeployment=args.to,
            idempotencyKey=args.idempotency_key,
        ),
    )
    return await _started(api, args, data["rollback"])


def _decision(document: str, field: str) -> Callable[[Api, argparse.Namespace], Awaitable[int]]:
    async def decide(api: Api, args: argparse.Namespace) -> int:
        comment = getattr(args, "comment", None)
        data = await api(document, input=given(deployment=args.deployment, comment=comment))
        payload = data[field]
        check_payload(args, payload)
        if not args.json:
            print(describe_deployment(payload["deployment"]))
        return 0

    return decide


approve = _decision(APPROVE, "approveDeployment")
reject = _decision(REJECT, "rejectDeployment")
cancel = _decision(CANCEL, "cancelDeployment")


async def status(api: Api, args: argparse.Namespace) -> int:
    if not args.follow:
        await _print_status(api, args)
        return 0
    try:
        last_id: str | None = None
        shown = False
        while True:  # the server ends streams when it shuts down: resume after the last one
            async with api.subscription(FOLLOW_SERVICE, last_id, service=args.service) as updates:
                if not shown:  # after subscribing: no change falls in between
                    await _print_status(api, args)
                    shown = True
                last_id = await _print_updates(args, updates, last_id)
    except NoStream:
        await _poll_status(api, args)
    return 0


async def _print_updates(
    args: argparse.Namespace, updates: AsyncIterator[Update], last_id: str | None
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


async def _poll_status(api: Api, args: argparse.Namespace) -> None:
    """The status again whenever it changed, polled (a server without subscriptions)."""
    shown = await _print_status(api, args)
    while True:
        await asyncio.sleep(args.interval)
        data = await api(SERVICE_STATUS, slug=args.service)
        if data != shown:
            shown = await _print_status(api, args, data)


async def _print_status(
    api: Api, args: argparse.Namespace, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    if data is None:
        data = await api(SERVICE_STATUS, slug=args.service)
    service = data.get("service")
    if service is None:
        if args.json:
            print_json(data)
        raise Refused(1, f"paved: NOT_FOUND: no service '{args.service}'")
    if args.json:
        print_json(data)
        return data
    rows = [["ENVIRONMENT", "VERSION", "STATE", "#", "FINISHED", "PENDING"]]
    for place in service["environments"]:
        current = place["current"]
        pending = ", ".join(
            f"{d['version']} {d['state']} (#{d['number']}, id {d['id']})" for d in place["pending"]
        )
        rows.append(
            [
                place["environment"]["slug"],
                current["version"] if current else "-",
                current["state"] if current else "-",
                str(current["number"]) if current else "-",
                (current["finishedAt"] or "-") if current else "-",
                pending or "-",
            ]
        )
    print(f"{service['slug']} ({service['name']})")
    for line in table(rows):
        print(line)
    sys.stdout.flush()
    return data


async def releases(api: Api, args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    after: str | None = None
    total = 0
    filter_ = {"owner": args.owner} if args.owner else None
    while True:
        data = await api(
            RELEASES,
            filter=filter_,
            environments=args.environment,
            first=args.page_size,
            after=after,
        )
        page = data["releaseMatrix"]
        total = page["totalCount"]
        rows.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if args.json:
        print_json({"releaseMatrix": {"totalCount": total, "nodes": rows}})
        return 0
    if not rows:
        print("no services")
        return 0
    environments = [cell["environment"]["slug"] for cell in rows[0]["cells"]]
    matrix = [["SERVICE", *environments]]
    for row in rows:
        matrix.append(
            [
                row["service"]["slug"],
                *(cell["current"]["version"] if cell["current"] else "-" for cell in row["cells"]),
            ]
        )
    for line in table(matrix):
        print(line)
    return 0


async def run(argv: Sequence[str], transport: Transport | None = None) -> int:
    """`paved <deployment command> ...` in a running event loop."""
    parser: argparse.ArgumentParser = OneLineParser(prog="paved")
    add_deploy_commands(parser.add_subparsers(dest="command", required=True))
    return await run_command(parser.parse_args(list(argv)), transport)


def add_deploy_commands(commands: Subcommands) -> None:
    """Add the deployment commands to the `paved` subcommands."""
    common = client_options()
    waiting = waiting_options("poll every (2), when the server offers no subscription stream")
    waiting.add_argument(
        "--idempotency-key", metavar="KEY", help="replays with this key return the first one"
    )
    waiting.add_argument(
        "--wait", action="store_true", help="follow the deployment to a final state"
    )

    def add(name: str, command: Command, help_: str, *parents: argparse.ArgumentParser) -> Any:
        parser = commands.add_parser(
            name, help=help_, parents=[common, *parents], description=help_
        )
        parser.set_defaults(run=blocking, client_command=command)
        return parser

    parser = add("deploy", deploy, "deploy a version of a service to an environment", waiting)
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("environment", metavar="ENVIRONMENT")
    parser.add_argument("version", metavar="VERSION")
    parser.add_argument("--commit", metavar="SHA", help="the commit the version was built from")
    parser.add_argument("--description", metavar="TEXT")

    parser = add("promote", promote, "deploy what succeeded in one environment to another", waiting)
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("from_environment", metavar="FROM_ENV")
    parser.add_argument("to_environment", metavar="TO_ENV")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan only; change nothing"
    )

    parser = add("rollback", rollback, "redeploy an earlier successful version", waiting)
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("environment", metavar="ENVIRONMENT")
    parser.add_argument(
        "--to", metavar="DEPLOYMENT_ID", help="that deployment (default: the previous one)"
    )

    for name, command, help_ in (
        ("approve", approve, "approve a deployment waiting for approval"),
        ("reject", reject, "reject (and so cancel) a deployment waiting for approval"),
    ):
        parser = add(name, command, help_)
        parser.add_argument("deployment", metavar="DEPLOYMENT_ID")
        parser.add_argument("--comment", metavar="TEXT")

    parser = add("cancel", cancel, "cancel an unfinished deployment")
    parser.add_argument("deployment", metavar="DEPLOYMENT_ID")

    parser = add("status", status, "what runs of a service in each environment, what is coming")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument(
        "--follow",
        action="store_true",
        help="then print each change of its deployments as it happens (until Ctrl-C)",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=2.0,
        metavar="SECONDS",
        help="poll every (2), when the server offers no subscription stream",
    )

    parser = add("releases", releases, "the release matrix: services x environments")
    parser.add_argument(
        "--environment",
        action="append",
        metavar="SLUG",
        help="only these environments, in this order; repeat for more",
    )
    parser.add_argument("--owner", metavar="TEAM", help="services this team (or a sub-team) owns")
    parser.add_argument(
        "--page-size", type=page_size, default=100, metavar="N", help="rows per request (100)"
    )
