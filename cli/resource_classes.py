"""`paved resource-classes list|create|update|delete`: the self-service offer (platform
admins), through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    LimitOption,
    given,
    json_value,
    listing,
    mutate,
    mutation,
    slugs,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json, usage_error
from cli.output import show_fields, show_table

CLASS_FIELDS = """
  id slug name description type requiresApproval version provider { name kind }
  parametersSchema defaults environments { slug } approverTeams { slug }
"""

RESOURCE_CLASSES = f"""
query ResourceClasses($first: Int, $after: String) {{
  resourceClasses(first: $first, after: $after) {{ {PAGE_FIELDS} nodes {{ {CLASS_FIELDS} }} }}
}}
"""

CREATE_RESOURCE_CLASS = mutation("createResourceClass", f"resourceClass {{ {CLASS_FIELDS} }}")
UPDATE_RESOURCE_CLASS = mutation("updateResourceClass", f"resourceClass {{ {CLASS_FIELDS} }}")
DELETE_RESOURCE_CLASS = mutation("deleteResourceClass", "deletedId")

app = sub_app("resource-classes", "Resource classes: what teams may ask for (admins).")

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="the class's slug")]
Name = Annotated[str | None, typer.Option("--name", metavar="NAME")]
Type = Annotated[str | None, typer.Option("--type", metavar="TYPE", help="postgres, redis...")]
Provider = Annotated[
    str | None, typer.Option("--provider", metavar="KIND", help="the resource provider's kind")
]
ProviderSettings = Annotated[
    str | None,
    typer.Option("--provider-settings", metavar="JSON", help="its settings, JSON or @FILE"),
]
ParametersSchema = Annotated[
    str | None,
    typer.Option(
        "--parameters-schema", metavar="JSON", help="the parameters' JSON Schema, or @FILE"
    ),
]
Defaults = Annotated[
    str | None, typer.Option("--defaults", metavar="JSON", help="default parameters, or @FILE")
]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]
Environments = Annotated[
    list[str] | None,
    typer.Option("--environment", metavar="ENV", help="offered only there; repeat"),
]
RequiresApproval = Annotated[
    bool | None,
    typer.Option("--requires-approval/--no-approval", help="whether requests wait for approval"),
]
ApproverTeams = Annotated[
    list[str] | None,
    typer.Option("--approver-team", metavar="TEAM", help="a team whose members approve; repeat"),
]


def _json(text: str | None, option: str) -> Any:
    return None if text is None else json_value(text, option)


def _provider(kind: str | None, settings: str | None) -> dict[str, Any] | None:
    if kind is None:
        if settings is not None:
            raise usage_error("--provider-settings needs --provider")
        return None
    return given(kind=kind, settings=_json(settings, "--provider-settings"))


def _show(resource_class: dict[str, Any]) -> None:
    show_fields(
        [
            ("slug", resource_class["slug"]),
            ("name", resource_class["name"]),
            ("type", resource_class["type"]),
            ("provider", resource_class["provider"]["kind"]),
            ("environments", slugs(resource_class["environments"]) or "all"),
            ("approval", "required" if resource_class["requiresApproval"] else "no"),
            ("approver teams", slugs(resource_class["approverTeams"]) or None),
            ("version", resource_class["version"]),
        ]
    )


@app.command("list", epilog="Example: paved resource-classes list --json")
def list_classes(
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List the resource classes on offer."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, RESOURCE_CLASSES, "resourceClasses", wanted)
        if json:
            print_json(data)
            return 0
        show_table(
            ["SLUG", "NAME", "TYPE", "PROVIDER", "ENVIRONMENTS", "APPROVAL"],
            [
                [
                    c["slug"],
                    c["name"],
                    c["type"],
                    c["provider"]["kind"],
                    slugs(c["environments"]) or "all",
                    "yes" if c["requiresApproval"] else "no",
                ]
                for c in data["resourceClasses"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved resource-classes create postgres --name PostgreSQL --type postgres"
    " --provider simulated --parameters-schema @postgres.schema.json"
)
def create(
    slug: Slug,
    name: Annotated[str, typer.Option("--name", metavar="NAME")],
    type_: Annotated[str, typer.Option("--type", metavar="TYPE", help="postgres, redis...")],
    provider: Annotated[
        str, typer.Option("--provider", metavar="KIND", help="the resource provider's kind")
    ],
    parameters_schema: Annotated[
        str,
        typer.Option(
            "--parameters-schema", metavar="JSON", help="the parameters' JSON Schema, or @FILE"
        ),
    ],
    provider_settings: ProviderSettings = None,
    description: Description = None,
    defaults: Defaults = None,
    environment: Environments = None,
    requires_approval: RequiresApproval = None,
    approver_team: ApproverTeams = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Offer a new resource class."""
    input_ = given(
        slug=slug,
        name=name,
        type=type_,
        provider=_provider(provider, provider_settings),
        parametersSchema=_json(parameters_schema, "--parameters-schema"),
        description=description,
        defaults=_json(defaults, "--defaults"),
        environments=environment,
        requiresApproval=requires_approval,
        approverTeams=approver_team,
    )

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_RESOURCE_CLASS, "createResourceClass", input_, json=json)
        if not json:
            _show(payload["resourceClass"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved resource-classes update postgres --requires-approval")
def update(
    slug: Slug,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at N"),
    ] = None,
    name: Name = None,
    type_: Type = None,
    provider: Provider = None,
    provider_settings: ProviderSettings = None,
    parameters_schema: ParametersSchema = None,
    description: Description = None,
    defaults: Defaults = None,
    environment: Environments = None,
    requires_approval: RequiresApproval = None,
    approver_team: ApproverTeams = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a resource class (the fields given)."""
    changes = given(
        name=name,
        type=type_,
        provider=_provider(provider, provider_settings),
        parametersSchema=_json(parameters_schema, "--parameters-schema"),
        description=description,
        defaults=_json(defaults, "--defaults"),
        environments=environment,
        requiresApproval=requires_approval,
        approverTeams=approver_team,
    )
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(resourceClass=slug, expectedVersion=expected_version, **changes)

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_RESOURCE_CLASS, "updateResourceClass", input_, json=json)
        if not json:
            _show(payload["resourceClass"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved resource-classes delete redis")
def delete(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Withdraw a resource class (one no resource uses)."""

    async def work(api: Api) -> int:
        await mutate(
            api, DELETE_RESOURCE_CLASS, "deleteResourceClass", {"resourceClass": slug}, json=json
        )
        if not json:
            typer.echo(f"deleted resource class {slug}")
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
