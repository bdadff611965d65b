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

import argparse
import asyncio
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cli.api_client import Api, Refused
from cli.client_commands import (
    Command,
    OneLineParser,
    Subcommands,
    Transport,
    blocking,
    check_payload,
    client_options,
    given,
    print_json,
    run_command,
    table,
    waiting_options,
)
from cli.deployments import describe_deployment, follow_deployment
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
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    try:
        return key, orjson.loads(value)
    except orjson.JSONDecodeError:
        return key, value


class _Parameters(argparse.Action):
    """Collects `--param` pairs into one dict; a key given twice is a usage error."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        key, value = values
        collected: dict[str, Any] = dict(getattr(namespace, self.dest) or {})
        if key in collected:
            parser.error(f"argument {option_string}: {key!r} is given twice")
        collected[key] = value
        setattr(namespace, self.dest, collected)


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

    def __init__(
        self, args: argparse.Namespace, resources: Iterable[dict[str, Any]], goal: str
    ) -> None:
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
                raise Refused(1, f"paved: NOT_FOUND: resource {watched.label} is gone")
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
            raise Refused(1, f"paved: resource {watched.label} {watched.state}: {message}")
        if watched.state != "WAITING_APPROVAL" or self.args.json:
            return
        print(
            f"{watched.label} waits for approval by its approvers; still waiting "
            "(Ctrl-C stops the waiting, not the request)",
            flush=True,
        )


async def _wait(
    api: Api, args: argparse.Namespace, resources: list[dict[str, Any]], goal: str
) -> int:
    waiting = _Waiting(args, resources, goal)
    try:
        async with asyncio.timeout(args.timeout):
            await waiting.until_done(api)
    except TimeoutError:
        raise Refused(
            1, f"paved: gave up waiting after {args.timeout:g} s: {waiting.still()}"
        ) from None
    return 0


# --- commands --------------------------------------------------------------------------------


async def list_resources(api: Api, args: argparse.Namespace) -> int:
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
    rows = [["NAME", "SERVICE", "ENVIRONMENT", "CLASS", "STATE", "ID"]]
    rows.extend(_row(resource) for resource in found)
    for line in table(rows):
        print(line)
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


def _idempotency_key(args: argparse.Namespace) -> str | None:
    """The key a real request carries (a dry run writes nothing to replay)."""
    if args.dry_run:
        return None
    return str(args.idempotency_key or uuid.uuid4())


async def request(api: Api, args: argparse.Namespace) -> int:
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
    check_payload(args, payload)
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


async def delete(api: Api, args: argparse.Namespace) -> int:
    fields = given(resource=args.resource, expectedVersion=args.expected_version)
    payload = (await api(DELETE_RESOURCE, input=fields))["deleteResource"]
    check_payload(args, payload)
    resource = payload["resource"]
    if not args.json:
        print(_describe(resource), flush=True)
    if args.wait:
        return await _wait(api, args, [resource], "DELETED")
    return 0


async def new(api: Api, args: argparse.Namespace) -> int:
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
    check_payload(args, payload)
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
                await follow_deployment(api, args, deployment)
    except TimeoutError:
        still = waiting.still() or f"the first deployment of {args.slug} has not finished"
        raise Refused(1, f"paved: gave up waiting after {args.timeout:g} s: {still}") from None
    return 0


def _print_made(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """The service made, its resources by environment, its deployments and the plan."""
    service = payload["service"]
    if service is not None:
        print(
            f"service {service['slug']} ({service['name']}) owned by {args.owner}, "
            f"from {args.template}  id {service['id']}"
        )
    resources = sorted(payload["resources"], key=lambda r: r["environment"]["slug"])
    if resources:
        rows = [["ENVIRONMENT", "NAME", "CLASS", "STATE", "ID"]]
        rows.extend(
            [r["environment"]["slug"], r["name"], r["class"]["slug"], r["state"], r["id"]]
            for r in resources
        )
        print("resources:")
        for line in table(rows):
            print(f"  {line}")
    for deployment in payload["deployments"]:
        print(describe_deployment(deployment))
    _print_plan(payload["plan"])
    if args.dry_run:
        print("dry run: nothing changed")


async def _first_deployment(api: Api, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The template's first deployment, made once the resources of its environment are READY
    (just after the last of them is): none when the template deploys nothing."""
    template = await _template(api, args.template)
    if template is None or not template["firstVersion"] or not template["environments"]:
        return []
    environment = template["environments"][0]["slug"]
    while True:
        data = await api(FIRST_DEPLOYMENT, service=args.slug, environment=environment)
        service = data.get("service")
        if service is None:
            raise Refused(1, f"paved: NOT_FOUND: no service '{args.slug}'")
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


# --- the parser ------------------------------------------------------------------------------


async def run(argv: Sequence[str], transport: Transport | None = None) -> int:
    """`paved resources ...` or `paved new ...` in a running event loop."""
    parser: argparse.ArgumentParser = OneLineParser(prog="paved")
    add_resource_commands(parser.add_subparsers(dest="command", required=True))
    return await run_command(parser.parse_args(list(argv)), transport)


WAIT_HELP = "wait until READY (exit 0) or FAILED (exit 1); through approvals too, said once"


def _requesting() -> argparse.ArgumentParser:
    """The options of a command that requests resources (a parent parser)."""
    requesting = waiting_options()
    requesting.add_argument(
        "--param",
        dest="params",
        type=parameter,
        action=_Parameters,
        metavar="KEY=VALUE",
        help='a parameter; VALUE is JSON when it parses (16, true, ["a"]), else a string',
    )
    requesting.add_argument(
        "--dry-run", action="store_true", help="print the plan only; change nothing"
    )
    requesting.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="replays with this key return the first answer (default: a new one)",
    )
    return requesting


def add_resource_commands(commands: Subcommands) -> None:
    """Add `resources` (list, request, delete) and `new` to the `paved` subcommands."""
    common = client_options()
    requesting = _requesting()

    def add(
        parent: Subcommands, name: str, command: Command, help_: str,
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:  # fmt: skip
        parser = parent.add_parser(name, help=help_, parents=[common, *parents], description=help_)
        parser.set_defaults(run=blocking, client_command=command)
        return parser

    resources = commands.add_parser(
        "resources", help="self-service infrastructure: list, request, delete"
    ).add_subparsers(dest="resources_command", required=True)

    parser = add(resources, "list", list_resources, "list resources (every page)")
    parser.add_argument("--service", metavar="SLUG", help="only this service's")
    parser.add_argument("--environment", metavar="SLUG", help="only this environment's")

    parser = add(
        resources, "request", request, "ask for a resource of a class for a service",
        requesting,
    )  # fmt: skip
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("environment", metavar="ENVIRONMENT")
    parser.add_argument("resource_class", metavar="CLASS")
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--wait", action="store_true", help=WAIT_HELP)

    parser = add(resources, "delete", delete, "delete a resource", waiting_options())
    parser.add_argument("resource", metavar="ID")
    parser.add_argument(
        "--expected-version", type=int, metavar="N", help="refuse if it changed since version N"
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait until DELETED (exit 0) or FAILED (exit 1)"
    )

    parser = add(
        commands, "new", new, "the golden path: a new service from a template, with its "
        "resources (and first deployment)", requesting,
    )  # fmt: skip
    parser.add_argument("template", metavar="TEMPLATE")
    parser.add_argument("slug", metavar="SLUG")
    parser.add_argument("--owner", required=True, metavar="TEAM", help="the primary owner team")
    parser.add_argument("--name", metavar="NAME", help="(default: the slug)")
    parser.add_argument("--description", metavar="TEXT")
    parser.add_argument(
        "--wait",
        action="store_true",
        help=WAIT_HELP + "; then for the template's first deployment to finish",
    )
