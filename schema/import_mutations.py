"""`importCatalog`: its result types and its one-line field."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.catalog.backstage import model
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from resolvers import import_mutations as m
from resolvers.auditing import Outcome
from resolvers.validation import CatalogFormat as Format
from schema.catalog import Service, Team, User
from schema.common import Node, UserError, user_errors
from schema.mutation_fields import mutation

CatalogFormat = strawberry.enum(Format, name="CatalogFormat")
ImportAction = strawberry.enum(model.ImportAction, name="ImportAction")


def _node(record: model.Record | None) -> Node | None:
    if isinstance(record, TeamRecord):
        return Team.from_record(record)
    if isinstance(record, UserRecord):
        return User.from_record(record)
    if isinstance(record, ServiceRecord):
        return Service.from_record(record)
    return None


@strawberry.type(description="What an import did with one entity.")
class ImportResult:
    entity_ref: str = strawberry.field(
        description="Backstage's reference, `kind:namespace/name` (empty for a document that "
        "is no entity)."
    )
    kind: str = strawberry.field(description="The entity's kind as written (`Component`).")
    action: model.ImportAction
    target: Node | None = strawberry.field(
        description="The team, user or service it is in the catalog (none when it failed, was "
        "skipped or deleted, or a dry run would create it)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why it FAILED; paths are the entity's own (`spec.owner`)."
    )
    location: str = strawberry.field(
        description="`file#n`: the document's file and its place in it (from 1); empty for an "
        "entity a pruning import deleted."
    )
    slug: str | None = strawberry.field(
        description="Its slug (a user's handle) in the catalog, once normalised."
    )
    notes: list[str] = strawberry.field(
        description="What the import did that the file did not say: a name normalised, a "
        "value mapped or left out, why it was skipped."
    )

    @classmethod
    def of(cls, result: model.ImportResult) -> Self:
        return cls(
            entity_ref=result.entity_ref,
            kind=result.kind,
            action=result.action,
            target=_node(result.target),
            errors=user_errors(result.errors),
            location=result.location,
            slug=result.slug,
            notes=list(result.notes),
        )


@strawberry.type(description="How many entities an import left in each state.")
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    skipped: int
    failed: int
    deleted: int


@strawberry.type
class ImportCatalogPayload:
    results: list[ImportResult]
    summary: ImportSummary
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[m.ImportReport]) -> Self:
        report = outcome.value
        summary = report.summary if report is not None else model.ImportSummary()
        return cls(
            results=[ImportResult.of(result) for result in report.results] if report else [],
            summary=ImportSummary(**summary.as_dict()),
            errors=user_errors(outcome.errors),
        )


@strawberry.type
class ImportMutation:
    import_catalog = mutation(
        m.import_catalog,
        ImportCatalogPayload,
        description="Load Backstage `catalog-info.yaml` files into the catalog, in one "
        "transaction: a result for every entity. Admins only.",
    )
