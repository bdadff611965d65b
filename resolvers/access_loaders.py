"""Per-request batching for API clients and tokens."""

from __future__ import annotations

from functools import cached_property

from strawberry.dataloader import DataLoader

from domain.access.model import ApiClientRecord, ApiTokenRecord
from domain.access.ports import AccessStore
from resolvers.loaders import lookup_loader, lookup_many_loader, none


class AccessLoaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, store: AccessStore) -> None:
        self._store = store

    @cached_property
    def api_client_by_id(self) -> DataLoader[int, ApiClientRecord | None]:
        return lookup_loader(self._store.api_clients_by_id, none)

    @cached_property
    def api_clients_of_team(self) -> DataLoader[int, list[ApiClientRecord]]:
        return lookup_many_loader(self._store.api_clients_of_teams)

    @cached_property
    def tokens_of_user(self) -> DataLoader[int, list[ApiTokenRecord]]:
        return lookup_many_loader(self._store.tokens_of_users)

    @cached_property
    def tokens_of_client(self) -> DataLoader[int, list[ApiTokenRecord]]:
        return lookup_many_loader(self._store.tokens_of_clients)
