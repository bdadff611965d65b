"""`paved audit list`: the audit log (admins), newest first, through /graphql.

`app` is the `audit` noun's sub-app: other `audit` verbs join it."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    AuditOutcome,
    LimitOption,
    enum_value,
    given,
    iso_time,
    joined,
    listing,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json
from cli.output import show_table

AUDIT_EVENTS = f"""
query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {{
  auditEvents(filter: $filter, first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{
      id at operation targets outcome errorCodes requestId idempotencyKey actorName channel input
    }}
  }}
}}
"""

app = sub_app("audit", "The audit log: every mutation attempt (admins).")


@app.command(
    "list",
    epilog="Example: paved audit list --operation createService --outcome denied --limit 20",
)
def list_audit_events(
    actor: Annotated[
        str | None, typer.Option("--actor", metavar="NAME", help="by this user or client")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", metavar="SLUG", help="about this entity")
    ] = None,
    operation: Annotated[
        str | None, typer.Option("--operation", metavar="MUTATION", help="e.g. createService")
    ] = None,
    outcome: Annotated[AuditOutcome | None, typer.Option("--outcome", case_sensitive=False)] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="TIME", help="at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="TIME", help="before (ISO 8601)")
    ] = None,
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List audit records, newest first."""
    wanted = wanted_rows(limit, every)
    filter_ = given(
        actor=actor,
        target=target,
        operation=operation,
        outcome=enum_value(outcome),
        since=iso_time(since, "--since"),
        until=iso_time(until, "--until"),
    )

    async def work(api: Api) -> int:
        data = await listing(api, AUDIT_EVENTS, "auditEvents", wanted, filter=filter_)
        if json:
            print_json(data)
            return 0
        show_table(
            ["AT", "ACTOR", "VIA", "OPERATION", "OUTCOME", "TARGETS", "ERRORS"],
            [
                [
                    e["at"][:19].replace("T", " "),
                    e["actorName"],
                    e["channel"],
                    e["operation"],
                    e["outcome"],
                    joined(e["targets"]),
                    joined(e["errorCodes"]) or None,
                ]
                for e in data["auditEvents"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
