"""`importCatalog`: Backstage `catalog-info.yaml` files into the catalog, as one use case.

Who may import: admins only (`Action.IMPORT_CATALOG`). An import creates, changes and (with
`prune`) deletes teams, users and services of any team at once, which is an administrator's
act; a team's members change their own services through the other mutations.

The files are read and mapped here (pure, `domain.catalog.backstage`, in a worker thread so a
large import does not stall the server's other requests), each candidate's fields are checked
by the same input models as `createTeam`/`createUser`/`createService`, and the port plans and
writes the rest in one transaction. The audit record keeps the files' names and sizes (not
their text) and the summary."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.access.policy import Action
from domain.catalog.backstage.mapping import map_documents
from domain.catalog.backstage.model import Candidate, ImportResult, ImportSummary, Mapped
from domain.catalog.backstage.ports import CatalogImporter
from domain.errors import ValidationFailed
from resolvers import validation as v
from resolvers.auditing import Input
from resolvers.context import Context
from resolvers.use_cases import Transaction, UseCase

MAX_IMPORT_ENTITIES = 20_000
"""Entities (YAML documents) in one import."""
_NAMES_AUDITED = 100

# Where each checked input field comes from in a Backstage entity.
_TEAM_FIELDS = {
    "slug": ["metadata", "name"],
    "name": ["spec", "profile", "displayName"],
    "description": ["metadata", "description"],
}
_USER_FIELDS = {
    "handle": ["metadata", "name"],
    "name": ["spec", "profile", "displayName"],
    "email": ["spec", "profile", "email"],
}
_SERVICE_FIELDS = {
    "slug": ["metadata", "name"],
    "name": ["metadata", "title"],
    "owner": ["spec", "owner"],
    "description": ["metadata", "description"],
    "lifecycle": ["spec", "lifecycle"],
    "tags": ["metadata", "tags"],
    "links": ["metadata", "links"],
    "repositoryUrl": ["metadata", "annotations"],
    "system": ["spec", "system"],
}


@dataclass(frozen=True, slots=True)
class ImportReport:
    results: list[ImportResult]
    summary: ImportSummary


def importer(context: Context) -> CatalogImporter:
    if context.importer is None:
        raise RuntimeError("this process has no catalog importer")
    return context.importer


def _check(
    candidate: Candidate,
    model: type[v.InputModel],
    data: dict[str, Any],
    fields: Mapping[str, list[str]],
) -> None:
    """Fail `candidate` with every problem of its fields, at the entity's own paths."""
    try:
        v.validate(model, data)
    except v.InvalidInput as invalid:
        for error in invalid.errors:
            field, *rest = (error.path or ("input", "?"))[1:] or ["?"]
            path = [*fields.get(field, [field]), *rest]
            candidate.result.fail(ValidationFailed(error.message, path))


def check_fields(mapped: Mapped) -> None:
    """Each candidate's fields, by the rules of the mutation that would make it."""
    for team in mapped.teams:
        data = {"slug": team.key, "name": team.name, "description": team.description}
        _check(team, v.CreateTeam, data, _TEAM_FIELDS)
    for user in mapped.users:
        data = {"handle": user.key, "name": user.name, "email": user.email}
        _check(user, v.CreateUser, data, _USER_FIELDS)
    for service in mapped.services:
        _check(service, v.CreateService, service.as_input(), _SERVICE_FIELDS)


def read(model: v.ImportCatalog) -> Mapped:
    """The files read, mapped and checked (CPU only)."""
    mapped = map_documents([(document.name, document.content) for document in model.documents])
    if len(mapped.results) > MAX_IMPORT_ENTITIES:
        raise ValidationFailed(
            f"the documents hold {len(mapped.results)} entities; at most {MAX_IMPORT_ENTITIES}",
            ["input", "documents"],
        )
    check_fields(mapped)
    return mapped


async def _import(
    context: Context, model: v.ImportCatalog, tx: Transaction[CatalogImporter]
) -> ImportReport:
    mapped = await asyncio.to_thread(read, model)
    results = await tx.port.import_catalog(mapped, dry_run=model.dry_run, prune=model.prune)
    return ImportReport(results, ImportSummary.of(results))


def _audited(data: Input) -> Input:
    """The input as the audit log keeps it: the files' names and sizes, not their text."""
    documents = data.get("documents")
    kept = {key: value for key, value in data.items() if key != "documents"}
    if isinstance(documents, list):
        sized = [d for d in documents if isinstance(d, dict)]
        kept["documentCount"] = len(documents)
        kept["characters"] = sum(len(str(d.get("content", ""))) for d in sized)
        kept["documents"] = [str(d.get("name", ""))[:200] for d in sized[:_NAMES_AUDITED]]
    return kept


import_catalog = UseCase(
    operation="importCatalog",
    model=v.ImportCatalog,
    action=Action.IMPORT_CATALOG,
    port=importer,
    change=_import,
    audited_input=_audited,
)
