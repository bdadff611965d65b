"""`paved webhooks list|deliveries|create|update|delete|rotate-secret|ping|redeliver`, through
/graphql. A webhook is named by its id (`paved webhooks list` shows them)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    EventType,
    LimitOption,
    enum_values,
    given,
    joined,
    listing,
    look_up,
    mutate,
    mutation,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json, usage_error
from cli.output import show_fields, show_table

WEBHOOK_FIELDS = "id url description active disabledReason createdAt version events team { slug }"

WEBHOOKS = f"""
query Webhooks($team: String, $first: Int, $after: String) {{
  webhooks(team: $team, first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{ {WEBHOOK_FIELDS} }}
  }}
}}
"""

DELIVERY_FIELDS = (
    "id attempt state statusCode durationMs error nextAttemptAt createdAt event { id type }"
)

DELIVERIES = f"""
query WebhookDeliveries($id: ID!, $first: Int, $failedOnly: Boolean) {{
  node(id: $id) {{
    ... on Webhook {{
      id url
      deliveries(first: $first, failedOnly: $failedOnly) {{
        totalCount nodes {{ {DELIVERY_FIELDS} }}
      }}
    }}
  }}
}}
"""

CREATE_WEBHOOK = mutation("createWebhook", f"webhook {{ {WEBHOOK_FIELDS} }} secret")
UPDATE_WEBHOOK = mutation("updateWebhook", f"webhook {{ {WEBHOOK_FIELDS} }}")
DELETE_WEBHOOK = mutation("deleteWebhook", "deletedId")
ROTATE_WEBHOOK_SECRET = mutation("rotateWebhookSecret", "webhook { id version } secret")
PING_WEBHOOK = mutation(
    "pingWebhook", "webhook { id } delivered statusCode durationMs responseExcerpt error"
)
REDELIVER_WEBHOOK_DELIVERY = mutation(
    "redeliverWebhookDelivery", f"delivery {{ {DELIVERY_FIELDS} }}"
)

app = sub_app("webhooks", "Webhooks: events POSTed, signed, to your URLs.")

WebhookId = Annotated[str, typer.Argument(metavar="ID", help="the webhook's id")]
Events = Annotated[
    list[EventType] | None,
    typer.Option("--event", case_sensitive=False, metavar="TYPE", help="an event type; repeat"),
]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]


def _events(values: list[EventType] | None) -> list[str] | None:
    return enum_values(values)


def _show(webhook: dict[str, Any]) -> None:
    show_fields(
        [
            ("id", webhook["id"]),
            ("url", webhook["url"]),
            ("team", (webhook["team"] or {}).get("slug")),
            ("events", joined(webhook["events"])),
            ("active", "yes" if webhook["active"] else f"no: {webhook['disabledReason'] or '-'}"),
            ("description", webhook["description"]),
            ("version", webhook["version"]),
        ]
    )


def _secret(secret: str | None) -> None:
    if secret:
        typer.echo(f"secret (shown once): {secret}")


@app.command("list", epilog="Example: paved webhooks list --team payments")
def list_webhooks(
    team: Annotated[
        str | None, typer.Option("--team", metavar="TEAM", help="only this team's")
    ] = None,
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List the webhooks you manage."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, WEBHOOKS, "webhooks", wanted, team=team)
        if json:
            print_json(data)
            return 0
        show_table(
            ["ID", "URL", "TEAM", "EVENTS", "ACTIVE"],
            [
                [
                    w["id"],
                    w["url"],
                    (w["team"] or {}).get("slug"),
                    joined(w["events"]),
                    "yes" if w["active"] else "no",
                ]
                for w in data["webhooks"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved webhooks deliveries V2ViaG9vazox --failed-only")
def deliveries(
    webhook: WebhookId,
    failed_only: Annotated[bool, typer.Option("--failed-only", help="only failed ones")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, metavar="N")] = 20,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """A webhook's latest deliveries (their ids are what `redeliver` takes)."""

    async def work(api: Api) -> int:
        found = await look_up(
            api, DELIVERIES, "node", "webhook", webhook, json=json,
            id=webhook, first=limit, failedOnly=failed_only,
        )  # fmt: skip
        if not json:
            show_table(
                ["ID", "EVENT", "ATTEMPT", "STATE", "STATUS", "AT"],
                [
                    [
                        d["id"],
                        d["event"]["type"],
                        d["attempt"],
                        d["state"],
                        d["statusCode"],
                        d["createdAt"][:19].replace("T", " "),
                    ]
                    for d in found["deliveries"]["nodes"]
                ],
            )
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved webhooks create https://ci.example.com/paved --event"
    " DEPLOYMENT_STATE_CHANGED --team payments"
)
def create(
    url: Annotated[str, typer.Argument(metavar="URL", help="where events are POSTed")],
    event: Events = None,
    team: Annotated[
        str | None, typer.Option("--team", metavar="TEAM", help="the team it belongs to")
    ] = None,
    description: Description = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create a webhook; its signing secret is printed once."""
    if not event:
        raise usage_error("give at least one --event")
    input_ = given(url=url, events=_events(event), team=team, description=description)

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_WEBHOOK, "createWebhook", input_, json=json)
        if not json:
            _show(payload["webhook"])
            _secret(payload["secret"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved webhooks update V2ViaG9vazox --active --event TEAM_CREATED")
def update(
    webhook: WebhookId,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at N"),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", metavar="URL")] = None,
    event: Events = None,
    description: Description = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="deliver again (re-enable) or pause"),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a webhook (the fields given; --event replaces the events)."""
    changes = given(url=url, events=_events(event), description=description, active=active)
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(webhook=webhook, expectedVersion=expected_version, **changes)

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_WEBHOOK, "updateWebhook", input_, json=json)
        if not json:
            _show(payload["webhook"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved webhooks delete V2ViaG9vazox")
def delete(
    webhook: WebhookId, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Delete a webhook."""

    async def work(api: Api) -> int:
        await mutate(api, DELETE_WEBHOOK, "deleteWebhook", {"webhook": webhook}, json=json)
        if not json:
            typer.echo(f"deleted webhook {webhook}")
        return 0

    return ClientCall(work, api_url)


@app.command("rotate-secret", epilog="Example: paved webhooks rotate-secret V2ViaG9vazox")
def rotate_secret(
    webhook: WebhookId, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Give a webhook a new signing secret, printed once."""

    async def work(api: Api) -> int:
        payload = await mutate(
            api, ROTATE_WEBHOOK_SECRET, "rotateWebhookSecret", {"webhook": webhook}, json=json
        )
        if not json:
            _secret(payload["secret"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved webhooks ping V2ViaG9vazox")
def ping(webhook: WebhookId, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Send a webhook a signed test request now and tell how it answered."""

    async def work(api: Api) -> int:
        payload = await mutate(api, PING_WEBHOOK, "pingWebhook", {"webhook": webhook}, json=json)
        if not json:
            show_fields(
                [
                    ("delivered", "yes" if payload["delivered"] else "no"),
                    ("status", payload["statusCode"]),
                    ("duration ms", payload["durationMs"]),
                    ("error", payload["error"]),
                    ("response", payload["responseExcerpt"]),
                ]
            )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved webhooks redeliver V2ViaG9va0RlbGl2ZXJ5OjQy")
def redeliver(
    delivery: Annotated[str, typer.Argument(metavar="DELIVERY_ID", help="see `deliveries`")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Deliver an event again (a new delivery of the same event)."""

    async def work(api: Api) -> int:
        payload = await mutate(
            api, REDELIVER_WEBHOOK_DELIVERY, "redeliverWebhookDelivery",
            {"delivery": delivery}, json=json,
        )  # fmt: skip
        if not json:
            new = payload["delivery"]
            typer.echo(f"delivery {new['id']} ({new['event']['type']}): {new['state']}")
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
