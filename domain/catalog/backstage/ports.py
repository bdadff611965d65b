"""The import's port: the catalog read, planned against and written in one transaction."""

from __future__ import annotations

from typing import Protocol

from domain.audit.model import AuditEntry
from domain.catalog.backstage.model import ImportResult, Mapped


class CatalogImporter(Protocol):
    def audited(self, entry: AuditEntry) -> CatalogImporter:
        """The same, recording `entry` (with the import's summary) in the import's
        transaction."""
        ...

    async def import_catalog(
        self, mapped: Mapped, *, dry_run: bool, prune: bool
    ) -> list[ImportResult]:
        """Plan `mapped` against the catalog and, unless `dry_run`, write it: every result,
        in the order read, then those of entities a `prune` deleted (or could not)."""
        ...
