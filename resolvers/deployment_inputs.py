"""The inputs of the deployment mutations, each declared once (its GraphQL input type is
generated from it, `schema.inputs.graphql_input`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from domain.deployments.model import DeploymentState
from resolvers import validation as v

Version = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200)]


class Deploy(v.InputModel):
    service: v.Reference
    environment: v.Reference
    version: Version
    commit_sha: str | None = None
    description: Text | None = None
    idempotency_key: IdempotencyKey | None = None


class Promote(v.InputModel):
    service: v.Reference
    from_environment: v.Reference
    to_environment: v.Reference
    idempotency_key: IdempotencyKey | None = None
    dry_run: bool = Field(default=False, description="Only answer the plan; change nothing.")


class Rollback(v.InputModel):
    service: v.Reference
    environment: v.Reference
    to_deployment: v.NodeId | None = Field(
        default=None,
        description="An earlier successful deployment here; by default the previous one.",
    )
    idempotency_key: IdempotencyKey | None = None


class CancelDeployment(v.InputModel):
    deployment: v.NodeId


class DecideDeployment(v.InputModel):
    deployment: v.NodeId
    comment: Text | None = None


class Record(v.InputModel):
    """A deployment CI made itself, reported for the record."""

    service: v.Reference
    environment: v.Reference
    version: Version
    state: DeploymentState
    commit_sha: str | None = None
    committed_at: datetime | None = None
    url: v.Url | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    description: Text | None = None


class Report(v.InputModel):
    deployment: v.NodeId
    state: DeploymentState
    raw_status: Text | None = None
    message: Text | None = None
    url: v.Url | None = None


class Freeze(v.InputModel):
    environment: v.Reference
    reason: Text | None = None


class Unfreeze(v.InputModel):
    environment: v.Reference
