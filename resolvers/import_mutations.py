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
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, TypeAdapter

from domain.access.policy import Action
from domain.catalog.backstage.mapping import map_documents
from domain.catalog.backstage.model import (
    Candidate,
    ImportAction,
    ImportResult,
    ImportSummary,
    Mapped,
)
from domain.catalog.backstage.ports import CatalogImporter
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.errors import CatalogError, ErrorCode, ValidationFailed
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


_RECORDS: dict[str, type[Any]] = {
    record.__name__: record for record in (TeamRecord, UserRecord, ServiceRecord)
}


@functools.cache
def _record_adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(_RECORDS[name])


def _kept_error(error: CatalogError) -> dict[str, Any]:
    path = list(error.path) if error.path is not None else None
    return {"code": error.code.value, "message": error.message, "path": path}


def _error_again(kept: dict[str, Any]) -> CatalogError:
    error = CatalogError(kept["message"], kept["path"])
    error.code = ErrorCode(kept["code"])
    return error


def _kept_results(results: list[ImportResult]) -> list[dict[str, Any]]:
    """The results as an idempotency key keeps them (their errors are exceptions, which
    pydantic cannot keep by itself)."""
    kept = []
    for result in results:
        target = result.target
        kept.append(
            {
                "entity_ref": result.entity_ref,
                "kind": result.kind,
                "location": result.location,
                "action": result.action.value,
                "slug": result.slug,
                "notes": list(result.notes),
                "errors": [_kept_error(error) for error in result.errors],
                "target": None
                if target is None
                else {
                    "type": type(target).__name__,
                    "record": _record_adapter(type(target).__name__).dump_python(
                        target, mode="json"
                    ),
                },
            }
        )
    return kept


def _results_again(kept: list[dict[str, Any]]) -> list[ImportResult]:
    results = []
    for item in kept:
        target = item["target"]
        results.append(
            ImportResult(
                entity_ref=item["entity_ref"],
                kind=item["kind"],
                location=item["location"],
                action=ImportAction(item["action"]),
                slug=item["slug"],
                notes=list(item["notes"]),
                errors=[_error_again(error) for error in item["errors"]],
                target=None
                if target is None
                else _record_adapter(target["type"]).validate_python(target["record"]),
            )
        )
    return results


@dataclass(frozen=True, slots=True)
class ImportReport:
    results: Annotated[
        list[ImportResult], PlainValidator(_results_again), PlainSerializer(_kept_results)
    ]
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
