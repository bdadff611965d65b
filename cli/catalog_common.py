"""What the noun commands of `paved` (services, teams, users, envs, audit, webhooks, ...) share:
their GraphQL documents' shape, running a mutation, following a listing's pages, the options
every listing takes, and reading option values (JSON, `key=value`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum, StrEnum
from typing import Annotated, Any

import orjson
import typer

from cli.api_client import Api, Refused
from cli.framework import ExitCode, print_json, usage_error
from cli.output import refuse_on_errors

ERROR_FIELDS = "errors { code message path }"
PAGE_FIELDS = "totalCount pageInfo { hasNextPage endCursor }"
DEFAULT_LIMIT = 50
PAGE_SIZE = 100
"""The API's largest page: a listing asks for at most this many rows at a time."""


def mutation(field: str, selection: str) -> str:
    """The document of mutation `field(input:)`, selecting `selection` and the errors."""
    name = field[0].upper() + field[1:]
    return (
        f"mutation {name}($input: {name}Input!) "
        f"{{ {field}(input: $input) {{ {selection} {ERROR_FIELDS} }} }}"
    )


def given(**fields: Any) -> dict[str, Any]:
    """An input object of the fields that were given (not None)."""
    return {key: value for key, value in fields.items() if value is not None}


async def mutate(
    api: Api, document: str, field: str, input_: dict[str, Any], *, json: bool
) -> dict[str, Any]:
    """Run mutation `field` with `input_`; its payload (printed as JSON with `json`). Its
    `UserError`s end the command: one line each on stderr, exit 1."""
    data = await api(document, input=input_)
    payload: dict[str, Any] = data[field]
    if json:
        print_json(payload)
    refuse_on_errors(payload)
    return payload


def not_found(what: str, key: str) -> Refused:
    return Refused(ExitCode.REFUSED, f"paved: NOT_FOUND: no {what} {key!r}")


async def look_up(
    api: Api, document: str, field: str, what: str, key: str, *, json: bool, **variables: Any
) -> dict[str, Any]:
    """The entity a `show` query answers (`data[field]`); the data printed as JSON with
    `json`; NOT_FOUND (exit 1) when the API answers null."""
    data = await api(document, **variables)
    if json:
        print_json(data)
    entity: dict[str, Any] | None = data.get(field)
    if entity is None:
        raise not_found(what, key)
    return entity


LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, metavar="N", help=f"at most N rows (default {DEFAULT_LIMIT})"),
]
AllOption = Annotated[bool, typer.Option("--all", help="every row, page after page")]


def wanted_rows(limit: int | None, every: bool) -> int | None:
    """How many rows a listing prints (None: all); `--limit` with `--all` is a usage error."""
    if every and limit is not None:
        raise usage_error("--limit and --all exclude each other")
    return None if every else (limit or DEFAULT_LIMIT)


async def listing(
    api: Api, document: str, field: str, wanted: int | None, **variables: Any
) -> dict[str, Any]:
    """The data of `document` (a query of connection `field`, taking `$first` and `$after`)
    with the nodes of as many pages as it takes to have `wanted` rows (None: all of them);
    `pageInfo` is the last page's, so that `endCursor` resumes after the last row shown."""
    nodes: list[Any] = []
    after: str | None = None
    while True:
        first = PAGE_SIZE if wanted is None else min(PAGE_SIZE, wanted - len(nodes))
        data = await api(document, first=first, after=after, **variables)
        connection: dict[str, Any] = data[field]
        nodes.extend(connection["nodes"])
        page = connection["pageInfo"]
        if not page["hasNextPage"] or (wanted is not None and len(nodes) >= wanted):
            connection["nodes"] = nodes
            return data
        after = page["endCursor"]


def json_value(text: str, option: str) -> Any:
    """The JSON value of an option (`@FILE`: the file's content); a usage error if it is
    not JSON."""
    if text.startswith("@"):
        try:
            with open(text[1:], "rb") as file:
                text = file.read().decode()
        except (OSError, UnicodeDecodeError) as error:
            raise usage_error(f"{option}: cannot read {text[1:]}: {error}") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise usage_error(f"{option}: not JSON: {error}") from None


def pairs(values: Sequence[str] | None, option: str) -> list[tuple[str, str]] | None:
    """`KEY=VALUE` options as pairs; a usage error for one without `=`."""
    if values is None:
        return None
    found: list[tuple[str, str]] = []
    for value in values:
        key, equals, rest = value.partition("=")
        if not equals or not key:
            raise usage_error(f"{option}: expected KEY=VALUE, not {value!r}")
        found.append((key, rest))
    return found


def iso_time(text: str | None, option: str) -> str | None:
    """A time option as given, once it reads as an ISO 8601 time with its offset; a usage
    error otherwise."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise usage_error(f"{option}: not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise usage_error(f"{option}: give the time's offset (Z, +02:00...): {text!r}")
    return text


def clear_option(clearable: dict[str, Any]) -> Any:
    """The `--clear FIELD` option of an update command, for these fields."""
    return typer.Option(
        "--clear",
        metavar="FIELD",
        help=f"empty this field ({', '.join(clearable)}); repeat",
    )


def cleared(
    names: Sequence[str] | None, clearable: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """The input fields `--clear` empties (`clearable`: option name -> (input field, empty
    value)); a usage error for a field that cannot be cleared or that is also given."""
    found: dict[str, Any] = {}
    for name in names or ():
        if name not in clearable:
            raise usage_error(f"--clear: one of {', '.join(clearable)}, not {name!r}")
        field, empty = clearable[name]
        if field in changes:
            raise usage_error(f"--clear {name}: the field is also given a value")
        found[field] = empty
    return found


def enum_value(value: Enum | None) -> str | None:
    return None if value is None else str(value.value)


def enum_values(values: Sequence[Enum] | None) -> list[str] | None:
    return None if values is None else [str(value.value) for value in values]


def joined(values: Sequence[Any] | None) -> str:
    return ", ".join(str(value) for value in values or ())


def slugs(entities: Sequence[dict[str, Any]] | None, key: str = "slug") -> str:
    return joined([entity[key] for entity in entities or ()])


def sub_app(name: str, help_: str) -> typer.Typer:
    """A noun's sub-app: `paved NAME VERB ...`."""
    return typer.Typer(
        name=name,
        help=help_,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


class Lifecycle(StrEnum):
    EXPERIMENTAL = "EXPERIMENTAL"
    PRODUCTION = "PRODUCTION"
    DEPRECATED = "DEPRECATED"


class EnvironmentTier(StrEnum):
    PRODUCTION = "PRODUCTION"
    STAGING = "STAGING"
    TESTING = "TESTING"
    DEVELOPMENT = "DEVELOPMENT"
    OTHER = "OTHER"


class ServiceOrderField(StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TIER = "TIER"


class OrderDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class AuditOutcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    INVALID = "INVALID"
    DENIED = "DENIED"


class DeploymentState(StrEnum):
    QUEUED = "QUEUED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    ROLLED_BACK = "ROLLED_BACK"
    INACTIVE = "INACTIVE"


class ResourceState(StrEnum):
    REQUESTED = "REQUESTED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    PROVISIONING = "PROVISIONING"
    READY = "READY"
    UPDATING = "UPDATING"
    FAILED = "FAILED"
    DELETING = "DELETING"
    DELETED = "DELETED"


class EventType(StrEnum):
    SERVICE_CREATED = "SERVICE_CREATED"
    SERVICE_UPDATED = "SERVICE_UPDATED"
    SERVICE_DELETED = "SERVICE_DELETED"
    OWNERSHIP_CHANGED = "OWNERSHIP_CHANGED"
    DEPENDENCY_ADDED = "DEPENDENCY_ADDED"
    DEPENDENCY_REMOVED = "DEPENDENCY_REMOVED"
    TEAM_CREATED = "TEAM_CREATED"
    TEAM_UPDATED = "TEAM_UPDATED"
    TEAM_DELETED = "TEAM_DELETED"
    MEMBERSHIP_CHANGED = "MEMBERSHIP_CHANGED"
    ENVIRONMENT_CREATED = "ENVIRONMENT_CREATED"
    ENVIRONMENT_UPDATED = "ENVIRONMENT_UPDATED"
    ENVIRONMENT_DELETED = "ENVIRONMENT_DELETED"
    ENVIRONMENT_FROZEN = "ENVIRONMENT_FROZEN"
    ENVIRONMENT_UNFROZEN = "ENVIRONMENT_UNFROZEN"
    DEPLOYMENT_CREATED = "DEPLOYMENT_CREATED"
    DEPLOYMENT_STATE_CHANGED = "DEPLOYMENT_STATE_CHANGED"
    DEPLOYMENT_APPROVAL_REQUESTED = "DEPLOYMENT_APPROVAL_REQUESTED"
    DEPLOYMENT_APPROVED = "DEPLOYMENT_APPROVED"
    DEPLOYMENT_REJECTED = "DEPLOYMENT_REJECTED"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    RESOURCE_REQUESTED = "RESOURCE_REQUESTED"
    RESOURCE_UPDATED = "RESOURCE_UPDATED"
    RESOURCE_STATE_CHANGED = "RESOURCE_STATE_CHANGED"
    RESOURCE_APPROVAL_REQUESTED = "RESOURCE_APPROVAL_REQUESTED"
    RESOURCE_APPROVED = "RESOURCE_APPROVED"
    RESOURCE_REJECTED = "RESOURCE_REJECTED"
