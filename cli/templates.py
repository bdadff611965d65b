"""`paved templates list|create|update|delete`: the golden-path templates `paved new` starts
services from (platform admins), through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    LimitOption,
    given,
    joined,
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

TEMPLATE_FIELDS = """
  id slug name description firstVersion version parametersSchema service
  environments { slug } resources { name parameters class { slug } }
"""

TEMPLATES = f"""
query TemplateList($first: Int, $after: String) {{
  templates(first: $first, after: $after) {{ {PAGE_FIELDS} nodes {{ {TEMPLATE_FIELDS} }} }}
}}
"""

CREATE_TEMPLATE = mutation("createTemplate", f"template {{ {TEMPLATE_FIELDS} }}")
UPDATE_TEMPLATE = mutation("updateTemplate", f"template {{ {TEMPLATE_FIELDS} }}")
DELETE_TEMPLATE = mutation("deleteTemplate", "deletedId")

app = sub_app("templates", "Golden-path templates: what `paved new` starts services from.")

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="the template's slug")]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]
ParametersSchema = Annotated[
    str | None,
    typer.Option(
        "--parameters-schema", metavar="JSON", help="the parameters' JSON Schema, or @FILE"
    ),
]
Service = Annotated[
    str | None,
    typer.Option(
        "--service", metavar="JSON", help="the new service's fields (${param} allowed), or @FILE"
    ),
]
Environments = Annotated[
    list[str] | None,
    typer.Option("--environment", metavar="ENV", help="where its resources go; repeat"),
]
Resources = Annotated[
    list[str] | None,
    typer.Option(
        "--resource",
        metavar="JSON",
        help='a resource: {"class": ..., "name": ..., "parameters": {...}}; repeat',
    ),
]
FirstVersion = Annotated[
    str | None,
    typer.Option("--first-version", metavar="VERSION", help="deployed first, when given"),
]


def _json(text: str | None, option: str) -> Any:
    return None if text is None else json_value(text, option)


def _resources(values: list[str] | None) -> list[Any] | None:
    if values is None:
        return None
    resources = [json_value(value, "--resource") for value in values]
    if not all(isinstance(resource, dict) for resource in resources):
        raise usage_error('--resource: expected a JSON object {"class": ..., "name": ...}')
    return resources


def _show(template: dict[str, Any]) -> None:
    show_fields(
        [
            ("slug", template["slug"]),
            ("name", template["name"]),
            ("description", template["description"]),
            ("environments", slugs(template["environments"]) or None),
            (
                "resources",
                joined([f"{r['name']} ({r['class']['slug']})" for r in template["resources"]])
                or None,
            ),
            ("first version", template["firstVersion"]),
            ("version", template["version"]),
        ]
    )


@app.command("list", epilog="Example: paved templates list")
def list_templates(
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List the templates."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, TEMPLATES, "templates", wanted)
        if json:
            print_json(data)
            return 0
        show_table(
            ["SLUG", "NAME", "ENVIRONMENTS", "RESOURCES", "FIRST VERSION"],
            [
                [
                    t["slug"],
                    t["name"],
                    slugs(t["environments"]),
                    joined([r["name"] for r in t["resources"]]),
                    t["firstVersion"],
                ]
                for t in data["templates"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved templates create worker --name Worker --parameters-schema"
    " @worker.schema.json --environment staging --resource"
    ' \'{"class": "redis", "name": "cache"}\''
)
def create(
    slug: Slug,
    name: Annotated[str, typer.Option("--name", metavar="NAME")],
    parameters_schema: Annotated[
        str,
        typer.Option(
            "--parameters-schema", metavar="JSON", help="the parameters' JSON Schema, or @FILE"
        ),
    ],
    description: Description = None,
    service: Service = None,
    environment: Environments = None,
    resource: Resources = None,
    first_version: FirstVersion = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create a template."""
    input_ = given(
        slug=slug,
        name=name,
        parametersSchema=_json(parameters_schema, "--parameters-schema"),
        description=description,
        service=_json(service, "--service"),
        environments=environment,
        resources=_resources(resource),
        firstVersion=first_version,
    )

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_TEMPLATE, "createTemplate", input_, json=json)
        if not json:
            _show(payload["template"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved templates update worker --first-version 0.2.0")
def update(
    slug: Slug,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at N"),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME")] = None,
    parameters_schema: ParametersSchema = None,
    description: Description = None,
    service: Service = None,
    environment: Environments = None,
    resource: Resources = None,
    first_version: FirstVersion = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a template (the fields given; lists are replaced)."""
    changes = given(
        name=name,
        parametersSchema=_json(parameters_schema, "--parameters-schema"),
        description=description,
        service=_json(service, "--service"),
        environments=environment,
        resources=_resources(resource),
        firstVersion=first_version,
    )
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(template=slug, expectedVersion=expected_version, **changes)

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_TEMPLATE, "updateTemplate", input_, json=json)
        if not json:
            _show(payload["template"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved templates delete worker")
def delete(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Delete a template."""

    async def work(api: Api) -> int:
        await mutate(api, DELETE_TEMPLATE, "deleteTemplate", {"template": slug}, json=json)
        if not json:
            typer.echo(f"deleted template {slug}")
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
