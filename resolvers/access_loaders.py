"""Per-request batching for API clients and tokens."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from domain.access.model import ApiClientRecord, ApiTokenRecord
from domain.access.ports import AccessStore
from resolvers.loaders import lookup_loader, lookup_many_loader, none


class AccessLoaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, store: AccessStore) -> None:
        self.api_client_by_id: DataLoader[int, ApiClientRecord | None] = lookup_loader(
            store.api_clients_by_id, none
        )
        self.api_clients_of_team: DataLoader[int, list[ApiClientRecord]] = lookup_many_loader(
            store.api_clients_of_teams
        )
        self.tokens_of_user: DataLoader[int, list[ApiTokenRecord]] = lookup_many_loader(
            store.tokens_of_users
        )
        self.tokens_of_client: DataLoader[int, list[ApiTokenRecord]] = lookup_many_loader(
            store.tokens_of_clients
        )
