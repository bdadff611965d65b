"""Resources on PostgreSQL: the `ResourceStore` port (`store.PostgresResourceStore`)."""

from providers.postgres.resources.store import PostgresResourceStore

__all__ = ["PostgresResourceStore"]
