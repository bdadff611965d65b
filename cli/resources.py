"""`paved resources list | request | delete` and `paved new` (the golden path): self-service
infrastructure from a terminal, as a client of the GraphQL API over HTTP, like the deployment
commands (`PAVED_API_URL`, `PAVED_TOKEN`, `--json`, one-line refusals: see
`cli/client_commands.py`).

`--param KEY=VALUE` (repeatable) sets a parameter: VALUE is read as JSON when it is JSON
(`version=16` is 16, `highAvailability=true` is true, `tags=["a"]` a list), and is otherwise
the string as written (`size=M` is "M"). A malformed one, or a key given twice, is a usage
error (exit 2).

`--wait` polls the resources every `--interval` seconds until they are READY (exit 0), one is
FAILED (exit 1, with its status message) or `--timeout` runs out (exit 1). A resource
WAITING_APPROVAL is waited for as well: its approvers decide, so the command says so once and
keeps waiting (Ctrl-C ends the waiting, never the request). `paved new --wait` then follows
the template's first deployment as `paved deploy --wait` does. Requests carry an idempotency
key (`--idempotency-key`, or a fresh one), so that the request sent again after a lost answer
is not made twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import typer

from cli.api_client import Api, Refused
from cli.client_commands import Following, check_payload, given, print_json
from cli.deployments import describe_deployment, follow_deployment
from cli.framework import (
    ApiUrlOption,
    ClientCall,
    ExitCode,
    JsonOption,
    TimeoutOption,
    example,
    seconds,
    sub_app,
)
from cli.output import show_table
from cli.resource_documents import (
    DELETE_RESOURCE,
    FIRST_DEPLOYMENT,
    NEW_SERVICE,
    REQUEST_RESOURCE,
    RESOURCE_STATES,
    RESOURCES,
    TEMPLATES,
)

PAGE_SIZE = 100
"""Resources (and templates) asked for per request; also the most `nodes(ids:)` takes."""


# --- parameters ------------------------------------------------------------------------------


def parameter(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`: VALUE as JSON when it is JSON, else as the string written."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise typer.BadParameter(f"expected KEY=VALUE, not {text!r}", param_hint="'--param'")
    try:
        return key, orjson.loads(value)
    except orjson.JSONDecodeError:
        return key, value


def parameters(texts: list[str] | None) -> dict[str, Any] | None:
    """The `--param` pairs as one object; a key given twice is a usage error."""
    if not texts:
        return None
    collected: dict[str, Any] = {}
    for text in texts:
        key, value = parameter(text)
        if key in collected:
            raise typer.BadParameter(f"{key!r} is given twice", param_hint="'--param'")
        collected[key] = value
    return collected


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a resource command was asked."""

    json: bool = False
    interval: float = 2.0
    timeout: float = 1800.0
    wait: bool = False
    dry_run: bool = False
    idempotency_key: str | None = None
    params: dict[str, Any] | None = None
    service: str | None = None
    environment: str | None = None
    name: str | None = None
    resource_class: str | None = None
    resource: str | None = None
    expected_version: int | None = None
    template: str | None = None
    slug: str | None = None
    owner: str | None = None
    description: str | None = None

    @property
    def following(self) -> Following:
        return Following(self.json, self.interval, self.timeout)


# --- printing --------------------------------------------------------------------------------


def _label(resource: dict[str, Any]) -> str:
    return (
        f"{resource['name']} of {resource['service']['slug']} in {resource['environment']['slug']}"
    )


def _describe(resource: dict[str, Any]) -> str:
    return (
        f"resource {_label(resource)} ({resource['class']['slug']}): "
        f"{resource['state']}  id {resource['id']}"
    )


def _compact(value: Any) -> str:
    """On one line, as JSON."""
    return json.dumps(value, ensure_ascii=False)


def _print_plan(plan: dict[str, Any]) -> None:
    print("plan:")
    for action in plan["actions"]:
        print(f"  {action}")
    print(f"parameters: {_compact(plan['parameters'])}")
    print(f"required approvals: {plan['requiredApprovals']}")
    for warning in plan["warnings"]:
        print(f"warning: {warning}")


def _print_ready(resource: dict[str, Any]) -> None:
    """What a READY resource offers: its outputs and where its credentials are."""
    if resource.get("outputs"):
        print(f"  outputs: {_compact(resource['outputs'])}")
    for ref in resource.get("secretRefs") or []:
        key = f" key {ref['key']}" if ref.get("key") else ""
        print(f"  secret: {ref['name']}{key} in {ref['store']}")


# --- waiting ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Watched:
    """A resource waited for, as last seen."""

    label: str
    state: str


class _Waiting:
    """Resources polled until each is in `goal`, each change printed once."""

    def __init__(self, args: _Asked, resources: Iterable[dict[str, Any]], goal: str) -> None:
        self.args = args
        self.goal = goal
        self.watched: dict[str, _Watched] = {}
        for resource in resources:
            watched = _Watched(_label(resource), resource["state"])
            self.watched[resource["id"]] = watched
            self._settle(watched, resource)

    @property
    def pending(self) -> list[str]:
        return [id_ for id_, watched in self.watched.items() if watched.state != self.goal]

    def still(self) -> str:
        """What is not there yet, for the message of a timeout."""
        return ", ".join(
            f"{self.watched[id_].label} (id {id_}) is still {self.watched[id_].state}"
            for id_ in self.pending
        )

    async def until_done(self, api: Api) -> None:
        while pending := self.pending:
            await asyncio.sleep(self.args.interval)
            for start in range(0, len(pending), PAGE_SIZE):
                ids = pending[start : start + PAGE_SIZE]
                data = await api(RESOURCE_STATES, ids=ids)
                for id_, node in zip(ids, data["nodes"], strict=True):
                    self._saw(id_, node)

    def _saw(self, id_: str, node: dict[str, Any] | None) -> None:
        watched = self.watched[id_]
        if node is None:
            if self.goal != "DELETED":
                raise Refused(
                    ExitCode.REFUSED, f"paved: NOT_FOUND: resource {watched.label} is gone"
                )
            node = {"id": id_, "state": "DELETED", "statusMessage": None}
        if node["state"] == watched.state:
            return
        watched.state = node["state"]
        if self.args.json:
            print_json(node)
        else:
            message = f"  {node['statusMessage']}" if node.get("statusMessage") else ""
            print(f"{watched.label}: {watched.state}{message}", flush=True)
            if watched.state == "READY":
                _print_ready(node)
        self._settle(watched, node)

    def _settle(self, watched: _Watched, node: dict[str, Any]) -> None:
        """Refuse a resource that cannot reach the goal any more; say it when one starts
        waiting for approval (which it does at most once)."""
        if watched.state == "FAILED" or (watched.state == "DELETED" and self.goal != "DELETED"):
            message = node.get("statusMessage") or "no message"
            raise Refused(
                ExitCode.REFUSED, f"paved: resource {watched.label} {watched.state}: {message}"
            )
        if watched.state != "WAITING_APPROVAL" or self.args.json:
            return
        print(
            f"{watched.label} waits for approval by its approvers; still waiting "
            "(Ctrl-C stops the waiting, not the request)",
            flush=True,
        )


async def _wait(api: Api, args: _Asked, resources: list[dict[str, Any]], goal: str) -> int:
    waiting = _Waiting(args, resources, goal)
    try:
        async with asyncio.timeout(args.timeout):
            await waiting.until_done(api)
    except TimeoutError:
        raise Refused(
            ExitCode.REFUSED, f"paved: gave up waiting after {args.timeout:g} s: {waiting.still()}"
        ) from None
    return 0


# --- commands --------------------------------------------------------------------------------


async def list_resources(api: Api, args: _Asked) -> int:
    filter_ = given(service=args.service, environment=args.environment) or None
    found: list[dict[str, Any]] = []
    after: str | None = None
    total = 0
    while True:
        data = await api(RESOURCES, filter=filter_, first=PAGE_SIZE, after=after)
        page = data["resources"]
        total = page["totalCount"]
        found.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if args.json:
        print_json({"resources": {"totalCount": total, "nodes": found}})
        return 0
    if not found:
        print("no resources")
        return 0
    show_table(
        ["NAME", "SERVICE", "ENVIRONMENT", "CLASS", "STATE", "ID"],
        [_row(resource) for resource in found],
    )
    return 0


def _row(resource: dict[str, Any]) -> list[str]:
    return [
        resource["name"],
        resource["service"]["slug"],
        resource["environment"]["slug"],
        resource["class"]["slug"],
        resource["state"],
        resource["id"],
    ]


def _idempotency_key(args: _Asked) -> str | None:
    """The key a real request carries (a dry run writes nothing to replay)."""
    if args.dry_run:
        return None
    return str(args.idempotency_key or uuid.uuid4())


async def request(api: Api, args: _Asked) -> int:
    fields = given(
        service=args.service,
        environment=args.environment,
        name=args.name,
        parameters=args.params,
        dryRun=args.dry_run or None,
        idempotencyKey=_idempotency_key(args),
    )
    fields["class"] = args.resource_class
    send = api.resending if "idempotencyKey" in fields else api
    payload = (await send(REQUEST_RESOURCE, input=fields))["requestResource"]
    check_payload(args.json, payload)
    if args.dry_run:
        if not args.json:
            _print_plan(payload["plan"])
            print("dry run: nothing changed")
        return 0
    resource = payload["resource"]
    if not args.json:
        print(_describe(resource), flush=True)
    if args.wait:
        return await _wait(api, args, [resource], "READY")
    return 0


async def delete(api: Api, args: _Asked) -> int:
    fields = given(resource=args.resource, expectedVersion=args.expected_version)
    payload = (await api(DELETE_RESOURCE, input=fields))["deleteResource"]
    check_payload(args.json, payload)
    resource = payload["resource"]
    if not args.json:
        print(_describe(resource), flush=True)
    if args.wait:
        return await _wait(api, args, [resource], "DELETED")
    return 0


async def new(api: Api, args: _Asked) -> int:
    fields = given(
        template=args.template,
        slug=args.slug,
        owner=args.owner,
        name=args.name,
        description=args.description,
        parameters=args.params,
        dryRun=args.dry_run or None,
        idempotencyKey=_idempotency_key(args),
    )
    send = api.resending if "idempotencyKey" in fields else api
    payload = (await send(NEW_SERVICE, input=fields))["createServiceFromTemplate"]
    check_payload(args.json, payload)
    if not args.json:
        _print_made(args, payload)
    if args.dry_run or not args.wait:
        return 0
    waiting = _Waiting(args, payload["resources"], "READY")
    try:
        async with asyncio.timeout(args.timeout):
            await waiting.until_done(api)
            deployments = payload["deployments"] or await _first_deployment(api, args)
            for deployment in deployments:
                await follow_deployment(api, args.following, deployment)
    except TimeoutError:
        still = waiting.still() or f"the first deployment of {args.slug} has not finished"
        raise Refused(
            ExitCode.REFUSED, f"paved: gave up waiting after {args.timeout:g} s: {still}"
        ) from None
    return 0


def _print_made(args: _Asked, payload: dict[str, Any]) -> None:
    """The service made, its resources by environment, its deployments and the plan."""
    service = payload["service"]
    if service is not None:
        print(
            f"service {service['slug']} ({service['name']}) owned by {args.owner}, "
            f"from {args.template}  id {service['id']}"
        )
    resources = sorted(payload["resources"], key=lambda r: r["environment"]["slug"])
    if resources:
        print("resources:")
        show_table(
            ["ENVIRONMENT", "NAME", "CLASS", "STATE", "ID"],
            [
                [r["environment"]["slug"], r["name"], r["class"]["slug"], r["state"], r["id"]]
                for r in resources
            ],
            indent=2,
        )
    for deployment in payload["deployments"]:
        print(describe_deployment(deployment))
    _print_plan(payload["plan"])
    if args.dry_run:
        print("dry run: nothing changed")


async def _first_deployment(api: Api, args: _Asked) -> list[dict[str, Any]]:
    """The template's first deployment, made once the resources of its environment are READY
    (just after the last of them is): none when the template deploys nothing."""
    template = await _template(api, args.template or "")
    if template is None or not template["firstVersion"] or not template["environments"]:
        return []
    environment = template["environments"][0]["slug"]
    while True:
        data = await api(FIRST_DEPLOYMENT, service=args.slug, environment=environment)
        service = data.get("service")
        if service is None:
            raise Refused(ExitCode.REFUSED, f"paved: NOT_FOUND: no service '{args.slug}'")
        found: list[dict[str, Any]] = service["deployments"]["nodes"]
        if found:
            if args.json:
                print_json(found[0])
            else:
                print(describe_deployment(found[0]), flush=True)
            return found
        await asyncio.sleep(args.interval)


async def _template(api: Api, slug: str) -> dict[str, Any] | None:
    after: str | None = None
    while True:
        page = (await api(TEMPLATES, first=PAGE_SIZE, after=after))["templates"]
        for template in page["nodes"]:
            if template["slug"] == slug:
                found: dict[str, Any] = template
                return found
        if not page["pageInfo"]["hasNextPage"]:
            return None
        after = page["pageInfo"]["endCursor"]


# --- the commands ----------------------------------------------------------------------------

WAIT_HELP = "wait until READY (exit 0) or FAILED (exit 1); through approvals too, said once"

IntervalOption = Annotated[
    float, typer.Option("--interval", parser=seconds, metavar="SECONDS", help="poll every")
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="KEY=VALUE",
        help='a parameter; VALUE is JSON when it parses (16, true, ["a"]), else a string',
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="print the plan only; change nothing")
]
IdempotencyKeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        metavar="KEY",
        help="replays with this key return the first answer (default: a new one)",
    ),
]


def _call(command: Any, asked: _Asked, api_url: str | None) -> ClientCall:
    async def work(api: Api) -> int:
        code: int = await command(api, asked)
        return code

    return ClientCall(work, api_url)


def list_command(
    service: Annotated[
        str | None, typer.Option("--service", metavar="SLUG", help="only this service's")
    ] = None,
    environment: Annotated[
        str | None, typer.Option("--environment", metavar="SLUG", help="only this environment's")
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List resources (every page)."""
    return _call(
        list_resources, _Asked(json=json, service=service, environment=environment), api_url
    )


def request_command(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="the service's slug")],
    environment: Annotated[
        str, typer.Argument(metavar="ENVIRONMENT", help="the environment's slug")
    ],
    resource_class: Annotated[
        str, typer.Argument(metavar="CLASS", help="the resource class's slug")
    ],
    name: Annotated[str, typer.Argument(metavar="NAME", help="the resource's name")],
    param: ParamOption = None,
    dry_run: DryRunOption = False,
    idempotency_key: IdempotencyKeyOption = None,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Ask for a resource of a class for a service in an environment."""
    asked = _Asked(
        json=json, interval=interval, timeout=timeout, wait=wait, dry_run=dry_run,
        idempotency_key=idempotency_key, params=parameters(param), service=service,
        environment=environment, name=name, resource_class=resource_class,
    )  # fmt: skip
    return _call(request, asked, api_url)


def delete_command(
    resource: Annotated[str, typer.Argument(metavar="ID", help="the resource's id")],
    expected_version: Annotated[
        int | None,
        typer.Option(
            "--expected-version", metavar="N", help="refuse if it changed since version N"
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until DELETED (exit 0) or FAILED (exit 1)")
    ] = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Delete a resource."""
    asked = _Asked(
        json=json, interval=interval, timeout=timeout, wait=wait, resource=resource,
        expected_version=expected_version,
    )  # fmt: skip
    return _call(delete, asked, api_url)


def new_command(
    template: Annotated[str, typer.Argument(metavar="TEMPLATE", help="the template's slug")],
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="the new service's slug")],
    owner: Annotated[str, typer.Option("--owner", metavar="TEAM", help="the primary owner team")],
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="(default: the slug)")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
    param: ParamOption = None,
    dry_run: DryRunOption = False,
    idempotency_key: IdempotencyKeyOption = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help=WAIT_HELP + "; then for the template's first deployment to finish"
        ),
    ] = False,
    interval: IntervalOption = 2.0,
    timeout: TimeoutOption = 1800.0,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """The golden path: a new service from a template, with its resources (and its first
    deployment)."""
    asked = _Asked(
        json=json, interval=interval, timeout=timeout, wait=wait, dry_run=dry_run,
        idempotency_key=idempotency_key, params=parameters(param), template=template,
        slug=slug, owner=owner, name=name, description=description,
    )  # fmt: skip
    return _call(new, asked, api_url)


def register(app: typer.Typer) -> None:
    """Add `resources` (list, request, delete) and `new` to the root `paved` app."""
    resources = sub_app(app, "resources", "Self-service infrastructure: list, request, delete.")
    resources.command(
        "list",
        epilog=example("paved resources list --service pay-api --environment staging"),
    )(list_command)
    resources.command(
        "request",
        epilog=example(
            "paved resources request pay-api staging postgres db --param size=M "
            "--param version=16 --wait"
        ),
    )(request_command)
    resources.command("delete", epilog=example("paved resources delete UmVzb3VyY2U6Nw== --wait"))(
        delete_command
    )
    app.command(
        "new",
        epilog=example(
            "paved new svc-template orders --owner payments --param size=M --dry-run",
            "paved new svc-template orders --owner payments --param size=M --wait",
        ),
    )(new_command)
