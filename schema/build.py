"""Assembles the schema from the per-domain roots."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.scalars import JSON
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from domain.errors import CatalogError, Unavailable
from schema.access import ApiClient, ApiToken, LocalAdmin
from schema.access_mutations import AccessMutation, AccessQuery
from schema.audit import AuditQuery
from schema.catalog import Environment, Service, Team, User
from schema.deployment_mutations import DeploymentMutation
from schema.deployment_queries import DeploymentQuery
from schema.deployments import Deployment, FormerActor
from schema.environment_mutations import EnvironmentMutation
from schema.events import Event, EventQuery
from schema.import_mutations import ImportMutation
from schema.json_scalar import json_scalar
from schema.parsed_documents import SharedParse
from schema.queries import CatalogQuery
from schema.read_scope import ReadScope
from schema.resource_mutations import ResourceMutation
from schema.resources import Resource, ResourceClass, ResourceQuery, Template
from schema.service_mutations import ServiceMutation
from schema.subscriptions import Subscription
from schema.team_mutations import TeamMutation
from schema.validation_cache import ShapeValidationCache, ValidationMemory
from schema.webhook_mutations import WebhookMutation
from schema.webhooks import Webhook, WebhookDelivery, WebhookQuery

log = logging.getLogger("strawberry.execution")
_DOCUMENT_CACHE_SIZE = 1024


def _is_internal(error: GraphQLError) -> bool:
    """Errors from our own refusals and from GraphQL itself are shown; anything else is
    an internal failure whose details stay in the server log."""
    original = error.original_error
    return original is not None and not isinstance(original, CatalogError | GraphQLError)


def _outage(context: object, error: GraphQLError) -> Unavailable | None:
    """The outage behind `error`, as the request's context (`resolvers.context.Context`)
    tells it apart from a bug."""
    outage = getattr(context, "outage", None)
    if outage is None or error.original_error is None:
        return None
    down: Unavailable | None = outage(error.original_error)
    return down


INTERNAL_ERROR = "Internal server error"
"""What an unexpected failure's message becomes: its details are only logged."""


class _Masking(MaskErrors):
    """Internal failures are masked; a database outage (as the request's context tells it
    apart) becomes an `UNAVAILABLE` error the client may retry, never `INTERNAL`."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_internal, error_message=INTERNAL_ERROR)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        down = _outage(self.execution_context.context, error)
        if down is None:
            return super().anonymise_error(error)
        log.warning("the database is unavailable (%r)", error.original_error)
        return GraphQLError(
            message=down.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=down,
            extensions=down.extensions,
        )


class PavedSchema(strawberry.Schema):
    validation_memory: ValidationMemory
    """The validation step's memory, which the fast mutation path asks too."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Internal failures are logged at ERROR with their traceback, as strawberry does;
        refusals (a forged cursor, a page too large, a document that does not validate) are
        answers to the client, not failures of the server: DEBUG, without a traceback, so
        that bad input cannot fill the log with tracebacks."""
        context = execution_context.context if execution_context is not None else None
        internal = [
            error for error in errors if _is_internal(error) and _outage(context, error) is None
        ]
        for error in errors:
            if not _is_internal(error):
                log.debug("refused: %s", error.message)
        super().process_errors(internal, execution_context)


def build_schema() -> PavedSchema:
    memory = ValidationMemory(_DOCUMENT_CACHE_SIZE)
    query = merge_types(
        "Query",
        (
            CatalogQuery,
            AccessQuery,
            AuditQuery,
            DeploymentQuery,
            EventQuery,
            WebhookQuery,
            ResourceQuery,
        ),
    )
    mutation = merge_types(
        "Mutation",
        (
            TeamMutation,
            ServiceMutation,
            EnvironmentMutation,
            AccessMutation,
            DeploymentMutation,
            WebhookMutation,
            ResourceMutation,
            ImportMutation,
        ),
    )
    schema = PavedSchema(
        query=query,
        mutation=mutation,
        subscription=Subscription,
        types=[
            Team,
            User,
            Service,
            Environment,
            ApiClient,
            ApiToken,
            LocalAdmin,
            Deployment,
            FormerActor,
            Event,
            Webhook,
            WebhookDelivery,
            Resource,
            ResourceClass,
            Template,
        ],
        extensions=[
            _Masking,
            lambda: SharedParse(maxsize=_DOCUMENT_CACHE_SIZE),
            lambda: ShapeValidationCache(memory),
            ReadScope,
        ],
        scalar_overrides={JSON: json_scalar()},
    )
    schema.validation_memory = memory
    return schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
