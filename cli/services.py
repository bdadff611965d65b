"""`paved services list|show|create|update|delete|owners|depend|undepend`: the catalog's
services, through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    Lifecycle,
    LimitOption,
    OrderDirection,
    ServiceOrderField,
    clear_option,
    cleared,
    enum_value,
    enum_values,
    given,
    joined,
    listing,
    look_up,
    mutate,
    mutation,
    pairs,
    slugs,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json, usage_error
from cli.output import show_fields, show_table

SERVICE_FIELDS = """
  id slug name description lifecycle tier tags links { title url } repositoryUrl system
  version createdAt updatedAt owners { team { slug } role }
"""

SERVICES = f"""
query Services($filter: ServiceFilter, $orderBy: ServiceOrder, $first: Int, $after: String) {{
  services(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{ slug name lifecycle tier tags system owner {{ slug }} }}
  }}
}}
"""

SERVICE = f"""
query Service($slug: String!) {{
  service(slug: $slug) {{
    {SERVICE_FIELDS}
    dependsOn {{ slug }} dependents {{ slug }}
  }}
}}
"""

SERVICE_OWNERS = """
query ServiceOwners($slug: String!) {
  service(slug: $slug) { slug version owners { team { slug name } role } }
}
"""

CREATE_SERVICE = mutation("createService", f"service {{ {SERVICE_FIELDS} }}")
UPDATE_SERVICE = mutation("updateService", f"service {{ {SERVICE_FIELDS} }}")
DELETE_SERVICE = mutation("deleteService", "deletedId")
SET_SERVICE_OWNERS = mutation(
    "setServiceOwners", "service { slug version owners { team { slug name } role } }"
)
ADD_SERVICE_DEPENDENCY = mutation(
    "addServiceDependency", "service { slug version dependsOn { slug } }"
)
REMOVE_SERVICE_DEPENDENCY = mutation(
    "removeServiceDependency", "service { slug version dependsOn { slug } }"
)

app = sub_app("services", "The catalog's services: list, show, create, change, delete.")

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="the service's slug")]
Name = Annotated[str | None, typer.Option("--name", metavar="NAME", help="its display name")]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]
LifecycleOption = Annotated[Lifecycle | None, typer.Option("--lifecycle", case_sensitive=False)]
Tier = Annotated[int | None, typer.Option("--tier", metavar="N", help="criticality, 1 (most)")]
Tags = Annotated[
    list[str] | None,
    typer.Option("--tag", metavar="TAG", help="a tag; repeat for more (replaces the tags)"),
]
Links = Annotated[
    list[str] | None,
    typer.Option(
        "--link", metavar="TITLE=URL", help="a link; repeat for more (replaces the links)"
    ),
]
RepositoryUrl = Annotated[str | None, typer.Option("--repository-url", metavar="URL")]
System = Annotated[
    str | None, typer.Option("--system", metavar="SYSTEM", help="the system it belongs to")
]
ExpectedVersion = Annotated[
    int | None,
    typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at version N"),
]


CLEARABLE: dict[str, tuple[str, Any]] = {
    "description": ("description", None),
    "tier": ("tier", None),
    "tags": ("tags", []),
    "links": ("links", []),
    "repository-url": ("repositoryUrl", None),
    "system": ("system", None),
}


def _links(values: list[str] | None) -> list[dict[str, str]] | None:
    found = pairs(values, "--link")
    return None if found is None else [{"title": title, "url": url} for title, url in found]


def _primary(service: dict[str, Any]) -> str | None:
    return next(
        (owner["team"]["slug"] for owner in service["owners"] if owner["role"] == "PRIMARY"), None
    )


def _show(service: dict[str, Any]) -> None:
    fields: list[tuple[str, Any]] = [
        ("slug", service["slug"]),
        ("name", service["name"]),
        ("description", service["description"]),
        ("owner", _primary(service)),
        (
            "contributors",
            joined([o["team"]["slug"] for o in service["owners"] if o["role"] != "PRIMARY"])
            or None,
        ),
        ("lifecycle", service["lifecycle"]),
        ("tier", service["tier"]),
        ("tags", joined(service["tags"]) or None),
        ("system", service["system"]),
        ("repository", service["repositoryUrl"]),
        ("links", joined([f"{link['title']} {link['url']}" for link in service["links"]]) or None),
    ]
    if "dependsOn" in service:
        fields.append(("depends on", slugs(service["dependsOn"]) or None))
        fields.append(("dependents", slugs(service["dependents"]) or None))
    fields += [("version", service["version"]), ("updated", service["updatedAt"])]
    show_fields(fields)


@app.command("list", epilog="Example: paved services list --owner payments --tag pci --all")
def list_services(
    search: Annotated[
        str | None, typer.Option("--search", metavar="TEXT", help="in slugs, names")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="TEAM", help="owned by this team or a sub-team"),
    ] = None,
    lifecycle: Annotated[
        list[Lifecycle] | None,
        typer.Option("--lifecycle", case_sensitive=False, help="any of these; repeat for more"),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="carrying all these tags")
    ] = None,
    tier: Annotated[
        list[int] | None, typer.Option("--tier", metavar="N", help="any of these tiers")
    ] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", metavar="SYSTEM", help="any of these")
    ] = None,
    order_by: Annotated[
        ServiceOrderField | None, typer.Option("--order-by", case_sensitive=False)
    ] = None,
    direction: Annotated[
        OrderDirection, typer.Option("--direction", case_sensitive=False)
    ] = OrderDirection.ASC,
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List services, by name unless --order-by says otherwise."""
    wanted = wanted_rows(limit, every)
    filter_ = given(
        search=search,
        owner=owner,
        lifecycle=enum_values(lifecycle),
        tags=tag,
        tier=tier,
        system=system,
    )
    order = None if order_by is None else {"field": order_by.value, "direction": direction.value}

    async def work(api: Api) -> int:
        data = await listing(api, SERVICES, "services", wanted, filter=filter_, orderBy=order)
        if json:
            print_json(data)
            return 0
        show_table(
            ["SLUG", "NAME", "OWNER", "LIFECYCLE", "TIER", "TAGS"],
            [
                [
                    s["slug"],
                    s["name"],
                    (s["owner"] or {}).get("slug"),
                    s["lifecycle"],
                    s["tier"],
                    joined(s["tags"]),
                ]
                for s in data["services"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved services show payments-api")
def show(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Show a service: its fields, owners and dependencies."""

    async def work(api: Api) -> int:
        service = await look_up(api, SERVICE, "service", "service", slug, json=json, slug=slug)
        if not json:
            _show(service)
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved services create payments-api --name 'Payments API' --owner payments"
    " --tier 1 --tag pci --tag go"
)
def create(
    slug: Slug,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="its display name")],
    owner: Annotated[str, typer.Option("--owner", metavar="TEAM", help="its primary owner")],
    description: Description = None,
    lifecycle: LifecycleOption = None,
    tier: Tier = None,
    tag: Tags = None,
    link: Links = None,
    repository_url: RepositoryUrl = None,
    system: System = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create a service, owned by a team."""
    input_ = given(
        slug=slug,
        name=name,
        owner=owner,
        description=description,
        lifecycle=enum_value(lifecycle),
        tier=tier,
        tags=tag,
        links=_links(link),
        repositoryUrl=repository_url,
        system=system,
    )

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_SERVICE, "createService", input_, json=json)
        if not json:
            _show(payload["service"])
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved services update payments-api --lifecycle production --expected-version 3"
)
def update(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    name: Name = None,
    description: Description = None,
    lifecycle: LifecycleOption = None,
    tier: Tier = None,
    tag: Tags = None,
    link: Links = None,
    repository_url: RepositoryUrl = None,
    system: System = None,
    clear: Annotated[list[str] | None, clear_option(CLEARABLE)] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a service's fields (those given; --tag and --link replace the lists)."""
    changes = given(
        name=name,
        description=description,
        lifecycle=enum_value(lifecycle),
        tier=tier,
        tags=tag,
        links=_links(link),
        repositoryUrl=repository_url,
        system=system,
    )
    changes |= cleared(clear, CLEARABLE, changes)
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(service=slug, expectedVersion=expected_version) | changes

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_SERVICE, "updateService", input_, json=json)
        if not json:
            _show(payload["service"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved services delete old-api --expected-version 7")
def delete(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Delete a service."""
    input_ = given(service=slug, expectedVersion=expected_version)

    async def work(api: Api) -> int:
        await mutate(api, DELETE_SERVICE, "deleteService", input_, json=json)
        if not json:
            typer.echo(f"deleted service {slug}")
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved services owners payments-api --primary payments --contributor sre"
)
def owners(
    slug: Slug,
    primary: Annotated[
        str | None, typer.Option("--primary", metavar="TEAM", help="the primary owner")
    ] = None,
    contributor: Annotated[
        list[str] | None,
        typer.Option("--contributor", metavar="TEAM", help="a contributing team; repeat"),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Show a service's owner teams; with --primary (and --contributor), set them all."""
    setting = primary is not None or contributor is not None
    if contributor is not None and primary is None:
        raise usage_error("--contributor needs --primary: the owners are set all at once")
    owners_ = [{"team": primary, "role": "PRIMARY"}] if primary else []
    owners_ += [{"team": team, "role": "CONTRIBUTOR"} for team in contributor or ()]

    async def work(api: Api) -> int:
        if setting:
            payload = await mutate(
                api, SET_SERVICE_OWNERS, "setServiceOwners",
                {"service": slug, "owners": owners_}, json=json,
            )  # fmt: skip
            service = payload["service"]
        else:
            service = await look_up(
                api, SERVICE_OWNERS, "service", "service", slug, json=json, slug=slug
            )
        if not json:
            show_table(
                ["TEAM", "NAME", "ROLE"],
                [[o["team"]["slug"], o["team"]["name"], o["role"]] for o in service["owners"]],
            )
        return 0

    return ClientCall(work, api_url)


DependsOn = Annotated[
    str, typer.Option("--depends-on", metavar="SERVICE", help="the service depended on")
]


@app.command(epilog="Example: paved services depend checkout-web --depends-on payments-api")
def depend(
    slug: Slug, depends_on: DependsOn, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Record that a service depends on another."""
    return _dependency(
        ADD_SERVICE_DEPENDENCY, "addServiceDependency", slug, depends_on, json, api_url
    )


@app.command(epilog="Example: paved services undepend checkout-web --depends-on payments-api")
def undepend(
    slug: Slug, depends_on: DependsOn, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Remove a service's dependency on another."""
    return _dependency(
        REMOVE_SERVICE_DEPENDENCY, "removeServiceDependency", slug, depends_on, json, api_url
    )


def _dependency(
    document: str, field: str, slug: str, depends_on: str, json: bool, api_url: str | None
) -> ClientCall:
    async def work(api: Api) -> int:
        input_ = {"service": slug, "dependsOn": depends_on}
        payload = await mutate(api, document, field, input_, json=json)
        if not json:
            service = payload["service"]
            typer.echo(f"{service['slug']} depends on: {slugs(service['dependsOn']) or '-'}")
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
