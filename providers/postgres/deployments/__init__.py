"""Deployments on PostgreSQL: the `DeploymentStore` port (`store.PostgresDeploymentStore`)."""

from providers.postgres.deployments.store import PostgresDeploymentStore

__all__ = ["PostgresDeploymentStore"]
