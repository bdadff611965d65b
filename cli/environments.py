"""`paved envs list|show|create|update|delete|freeze|unfreeze`: environments, through
/graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    EnvironmentTier,
    LimitOption,
    clear_option,
    cleared,
    enum_value,
    given,
    json_value,
    listing,
    look_up,
    mutate,
    mutation,
    slugs,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json, usage_error
from cli.output import show_fields, show_table

ENVIRONMENT_FIELDS = """
  id slug name description tier version provider { name kind }
  protection { requiredApprovals preventSelfApproval frozen freezeReason approverTeams { slug } }
"""

ENVIRONMENTS = f"""
query Environments($first: Int, $after: String) {{
  environments(first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{
      slug name tier provider {{ kind }}
      protection {{ requiredApprovals frozen }}
    }}
  }}
}}
"""

ENVIRONMENT = (
    f"query Environment($slug: String!) {{ environment(slug: $slug) {{ {ENVIRONMENT_FIELDS} }} }}"
)

CREATE_ENVIRONMENT = mutation("createEnvironment", f"environment {{ {ENVIRONMENT_FIELDS} }}")
UPDATE_ENVIRONMENT = mutation("updateEnvironment", f"environment {{ {ENVIRONMENT_FIELDS} }}")
DELETE_ENVIRONMENT = mutation("deleteEnvironment", "deletedId")
FREEZE_ENVIRONMENT = mutation("freezeEnvironment", f"environment {{ {ENVIRONMENT_FIELDS} }}")
UNFREEZE_ENVIRONMENT = mutation("unfreezeEnvironment", f"environment {{ {ENVIRONMENT_FIELDS} }}")

app = sub_app("envs", "Environments: list, show, create, change, delete, freeze, unfreeze.")

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="the environment's slug")]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]
Provider = Annotated[
    str | None,
    typer.Option("--provider", metavar="KIND", help="the deployment provider's kind (simulated)"),
]
ProviderSettings = Annotated[
    str | None,
    typer.Option(
        "--provider-settings", metavar="JSON", help="the provider's settings, JSON or @FILE"
    ),
]
RequiredApprovals = Annotated[
    int | None,
    typer.Option(
        "--required-approvals", metavar="N", help="approvals a deployment needs (protection)"
    ),
]
ApproverTeams = Annotated[
    list[str] | None,
    typer.Option("--approver-team", metavar="TEAM", help="a team whose members approve; repeat"),
]
PreventSelfApproval = Annotated[
    bool | None,
    typer.Option(
        "--prevent-self-approval/--allow-self-approval",
        help="whether whoever asked may approve their own deployment",
    ),
]
ExpectedVersion = Annotated[
    int | None,
    typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at version N"),
]


CLEARABLE: dict[str, tuple[str, Any]] = {"description": ("description", None)}


def _provider(kind: str | None, settings: str | None) -> dict[str, Any] | None:
    if kind is None:
        if settings is not None:
            raise usage_error("--provider-settings needs --provider")
        return None
    return given(
        kind=kind,
        settings=None if settings is None else json_value(settings, "--provider-settings"),
    )


def _protection(
    required: int | None, teams: list[str] | None, prevent: bool | None
) -> dict[str, Any] | None:
    """A protection input: given whole (the API replaces it), so --required-approvals is
    needed with the other protection options."""
    if required is None:
        if teams is not None or prevent is not None:
            raise usage_error(
                "--approver-team and --prevent-self-approval need --required-approvals"
            )
        return None
    return given(requiredApprovals=required, approverTeams=teams, preventSelfApproval=prevent)


def _show(environment: dict[str, Any]) -> None:
    protection = environment["protection"]
    frozen = protection["frozen"]
    show_fields(
        [
            ("slug", environment["slug"]),
            ("name", environment["name"]),
            ("description", environment["description"]),
            ("tier", environment["tier"]),
            ("provider", f"{environment['provider']['kind']} ({environment['provider']['name']})"),
            ("approvals", protection["requiredApprovals"]),
            ("approver teams", slugs(protection["approverTeams"]) or None),
            ("self-approval", "prevented" if protection["preventSelfApproval"] else "allowed"),
            (
                "frozen",
                (f"yes: {protection['freezeReason']}" if protection["freezeReason"] else "yes")
                if frozen
                else "no",
            ),
            ("version", environment["version"]),
        ]
    )


@app.command("list", epilog="Example: paved envs list --json")
def list_environments(
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List environments."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, ENVIRONMENTS, "environments", wanted)
        if json:
            print_json(data)
            return 0
        show_table(
            ["SLUG", "NAME", "TIER", "PROVIDER", "APPROVALS", "FROZEN"],
            [
                [
                    e["slug"],
                    e["name"],
                    e["tier"],
                    e["provider"]["kind"],
                    e["protection"]["requiredApprovals"],
                    "yes" if e["protection"]["frozen"] else "no",
                ]
                for e in data["environments"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved envs show production")
def show(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Show an environment: its provider and protection."""

    async def work(api: Api) -> int:
        environment = await look_up(
            api, ENVIRONMENT, "environment", "environment", slug, json=json, slug=slug
        )
        if not json:
            _show(environment)
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved envs create production --name Production --tier production"
    " --required-approvals 1 --approver-team sre"
)
def create(
    slug: Slug,
    name: Annotated[str, typer.Option("--name", metavar="NAME")],
    tier: Annotated[EnvironmentTier, typer.Option("--tier", case_sensitive=False)],
    description: Description = None,
    provider: Provider = None,
    provider_settings: ProviderSettings = None,
    required_approvals: RequiredApprovals = None,
    approver_team: ApproverTeams = None,
    prevent_self_approval: PreventSelfApproval = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create an environment."""
    input_ = given(
        slug=slug,
        name=name,
        tier=tier.value,
        description=description,
        provider=_provider(provider, provider_settings),
        protection=_protection(required_approvals, approver_team, prevent_self_approval),
    )

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_ENVIRONMENT, "createEnvironment", input_, json=json)
        if not json:
            _show(payload["environment"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved envs update staging --required-approvals 1 --approver-team qa")
def update(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME")] = None,
    description: Description = None,
    tier: Annotated[EnvironmentTier | None, typer.Option("--tier", case_sensitive=False)] = None,
    provider: Provider = None,
    provider_settings: ProviderSettings = None,
    required_approvals: RequiredApprovals = None,
    approver_team: ApproverTeams = None,
    prevent_self_approval: PreventSelfApproval = None,
    clear: Annotated[list[str] | None, clear_option(CLEARABLE)] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change an environment's fields (those given; the protection is replaced whole)."""
    changes = given(
        name=name,
        description=description,
        tier=enum_value(tier),
        provider=_provider(provider, provider_settings),
        protection=_protection(required_approvals, approver_team, prevent_self_approval),
    )
    changes |= cleared(clear, CLEARABLE, changes)
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(environment=slug, expectedVersion=expected_version) | changes

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_ENVIRONMENT, "updateEnvironment", input_, json=json)
        if not json:
            _show(payload["environment"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved envs delete preview-42")
def delete(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Delete an environment."""
    input_ = given(environment=slug, expectedVersion=expected_version)

    async def work(api: Api) -> int:
        await mutate(api, DELETE_ENVIRONMENT, "deleteEnvironment", input_, json=json)
        if not json:
            typer.echo(f"deleted environment {slug}")
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved envs freeze production --reason 'end of quarter'")
def freeze(
    slug: Slug,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="shown to those refused")
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Freeze an environment: no deployment starts there until it is unfrozen."""
    input_ = given(environment=slug, reason=reason)

    async def work(api: Api) -> int:
        payload = await mutate(api, FREEZE_ENVIRONMENT, "freezeEnvironment", input_, json=json)
        if not json:
            _show(payload["environment"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved envs unfreeze production")
def unfreeze(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Unfreeze an environment."""

    async def work(api: Api) -> int:
        payload = await mutate(
            api, UNFREEZE_ENVIRONMENT, "unfreezeEnvironment", {"environment": slug}, json=json
        )
        if not json:
            _show(payload["environment"])
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
