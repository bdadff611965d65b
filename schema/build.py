"""Assembles the schema from the per-domain roots."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.tools import merge_types

from providers.errors import CatalogError
from schema.access import ApiClient, ApiToken, LocalAdmin
from schema.access_mutations import AccessMutation, AccessQuery
from schema.audit import AuditQuery
from schema.catalog import Environment, Service, Team, User
from schema.deployment_mutations import DeploymentMutation
from schema.deployment_queries import DeploymentQuery
from schema.deployments import Deployment, FormerActor
from schema.environment_mutations import EnvironmentMutation
from schema.queries import CatalogQuery
from schema.read_scope import ReadScope
from schema.service_mutations import ServiceMutation
from schema.team_mutations import TeamMutation

_DOCUMENT_CACHE_SIZE = 1024


def _is_internal(error: GraphQLError) -> bool:
    """Errors from our own refusals and from GraphQL itself are shown; anything else is
    an internal failure whose details stay in the server log."""
    original = error.original_error
    return original is not None and not isinstance(original, CatalogError | GraphQLError)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", (CatalogQuery, AccessQuery, AuditQuery, DeploymentQuery))
    mutation = merge_types(
        "Mutation",
        (TeamMutation, ServiceMutation, EnvironmentMutation, AccessMutation, DeploymentMutation),
    )
    return strawberry.Schema(
        query=query,
        mutation=mutation,
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
        ],
        extensions=[
            lambda: MaskErrors(
                should_mask_error=_is_internal, error_message="Internal server error"
            ),
            lambda: ParserCache(maxsize=_DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=_DOCUMENT_CACHE_SIZE),
            ReadScope,
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
