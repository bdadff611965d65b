"""`paved deployments record|report`: what CI and providers tell the API about deployments it
did not run itself, through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import DeploymentState, given, iso_time, mutate, mutation, sub_app
from cli.framework import ApiUrlOption, ClientCall, JsonOption
from cli.output import show_fields

REPORTED_FIELDS = """
  id number version state kind rawStatus statusMessage externalId url commitSha
  createdAt startedAt finishedAt service { slug } environment { slug }
"""

RECORD_DEPLOYMENT = mutation("recordDeployment", f"deployment {{ {REPORTED_FIELDS} }}")
REPORT_DEPLOYMENT_STATUS = mutation("reportDeploymentStatus", f"deployment {{ {REPORTED_FIELDS} }}")

app = sub_app("deployments", "Deployments made or followed elsewhere: record them, report on them.")

State = Annotated[DeploymentState, typer.Option("--state", case_sensitive=False)]
Url = Annotated[str | None, typer.Option("--url", metavar="URL", help="where to see it")]


def _show(deployment: dict[str, Any]) -> None:
    show_fields(
        [
            ("id", deployment["id"]),
            ("deployment", f"{deployment['service']['slug']} #{deployment['number']}"),
            ("environment", deployment["environment"]["slug"]),
            ("version", deployment["version"]),
            ("state", deployment["state"]),
            ("status", deployment["rawStatus"] or deployment["statusMessage"]),
            ("url", deployment["url"]),
        ]
    )


@app.command(
    epilog="Example: paved deployments record checkout-api production 1.4.2 --state succeeded"
    " --commit-sha 3f9c2ab --url https://ci.example.com/runs/81"
)
def record(
    service: Annotated[str, typer.Argument(metavar="SERVICE")],
    environment: Annotated[str, typer.Argument(metavar="ENVIRONMENT")],
    version: Annotated[str, typer.Argument(metavar="VERSION")],
    state: State,
    commit_sha: Annotated[str | None, typer.Option("--commit-sha", metavar="SHA")] = None,
    committed_at: Annotated[str | None, typer.Option("--committed-at", metavar="TIME")] = None,
    url: Url = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", metavar="ID", help="the CI's own id")
    ] = None,
    started_at: Annotated[str | None, typer.Option("--started-at", metavar="TIME")] = None,
    finished_at: Annotated[str | None, typer.Option("--finished-at", metavar="TIME")] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Record a deployment CI made itself (for the record: history, metrics)."""
    input_ = given(
        service=service,
        environment=environment,
        version=version,
        state=state.value,
        commitSha=commit_sha,
        committedAt=iso_time(committed_at, "--committed-at"),
        url=url,
        externalId=external_id,
        startedAt=iso_time(started_at, "--started-at"),
        finishedAt=iso_time(finished_at, "--finished-at"),
        description=description,
    )

    async def work(api: Api) -> int:
        payload = await mutate(api, RECORD_DEPLOYMENT, "recordDeployment", input_, json=json)
        if not json:
            _show(payload["deployment"])
        return 0

    return ClientCall(work, api_url)


@app.command(
    epilog="Example: paved deployments report RGVwbG95bWVudDo0Mg --state failed"
    " --message 'health check failed'"
)
def report(
    deployment: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    state: State,
    raw_status: Annotated[
        str | None, typer.Option("--raw-status", metavar="TEXT", help="the provider's words")
    ] = None,
    message: Annotated[str | None, typer.Option("--message", metavar="TEXT")] = None,
    url: Url = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Report a deployment's new state (what a provider's API client tells)."""
    input_ = given(
        deployment=deployment, state=state.value, rawStatus=raw_status, message=message, url=url
    )

    async def work(api: Api) -> int:
        payload = await mutate(
            api, REPORT_DEPLOYMENT_STATUS, "reportDeploymentStatus", input_, json=json
        )
        if not json:
            _show(payload["deployment"])
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
