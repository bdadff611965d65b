"""Input validation for catalog mutations (pydantic), reported as VALIDATION errors with paths."""

from __future__ import annotations

import enum
from typing import Annotated, Any, ClassVar, Optional, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.alias_generators import to_camel

from domain.catalog import rules
from domain.catalog.records import EnvironmentTier, OwnershipRole
from domain.catalog.services import Lifecycle
from domain.errors import ValidationFailed

SLUG_PATTERN = f"^{rules.SLUG_PATTERN}$"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_not_blank)]
Description = Annotated[str, StringConstraints(max_length=4000)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=63), AfterValidator(_not_blank)]
Url = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url)]
Tier = Annotated[int, Field(ge=1, le=4)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class GlobalId:
    """Marks a reference that is a global ID (`ID` in GraphQL), not a slug."""


NodeId = Annotated[Reference, GlobalId()]


class InputModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )
    not_nullable: ClassVar[frozenset[str]] = frozenset()
    """Fields (beyond `_NOT_NULLABLE`) that may be left out but not sent as null."""


K = TypeVar("K", bound=InputModel)


def changes_of(
    created: type[InputModel],
    key: type[K],
    *,
    leaving_out: set[str],
    descriptions: dict[str, str] | None = None,
) -> type[K]:
    """The input of an update: `key`'s fields (what names the object), then every field of
    `created` (the input making one) but those `leaving_out`, each optional and unset unless
    sent; so a field is declared once, where the object is created."""
    optional: dict[str, Any] = {
        name: (
            _nullable(info.annotation, info.metadata),
            Field(default=None, description=(descriptions or {}).get(name, info.description)),
        )
        for name, info in created.model_fields.items()
        if name not in leaving_out
    }
    name = created.__name__.replace("Create", "Update", 1)
    return create_model(name, __base__=key, __module__=__name__, **optional)


def _nullable(annotation: Any, constraints: list[Any]) -> Any:
    constrained = Annotated[annotation, *constraints] if constraints else annotation
    return Optional[constrained]  # noqa: UP045 (a runtime type)


class LinkInput(InputModel):
    title: Name
    url: Url


class OwnerInput(InputModel):
    team: Reference = Field(description="Slug of the team.")
    role: OwnershipRole


class CreateTeam(InputModel):
    slug: Slug
    name: Name
    description: Description | None = None
    parent: Reference | None = Field(default=None, description="Slug of the parent team.")


class TeamChange(InputModel):
    team: Reference
    expected_version: int | None = None


UpdateTeam = changes_of(
    CreateTeam,
    TeamChange,
    leaving_out={"slug"},
    descriptions={"parent": "Slug of the new parent team; null makes it top-level."},
)


class DeleteTeam(InputModel):
    team: Reference
    expected_version: int | None = None


class CreateUser(InputModel):
    handle: Slug
    name: Name
    email: Email


class UserChange(InputModel):
    user: Reference
    expected_version: int | None = None


UpdateUser = changes_of(CreateUser, UserChange, leaving_out={"handle"})


class TeamMembership(InputModel):
    team: Reference
    user: Reference


class CreateService(InputModel):
    slug: Slug
    name: Name
    owner: Reference = Field(description="Slug of the primary owner team.")
    description: Description | None = None
    lifecycle: Lifecycle = Lifecycle.EXPERIMENTAL
    tier: Tier | None = None
    tags: Annotated[list[Tag], Field(max_length=rules.MAX_TAGS_PER_SERVICE)] = []
    links: Annotated[list[LinkInput], Field(max_length=rules.MAX_LINKS_PER_SERVICE)] = []
    repository_url: Url | None = None
    system: Slug | None = Field(
        default=None, description="The system it is part of (a slug such as `payments`)."
    )


class ServiceChange(InputModel):
    service: Reference
    expected_version: int | None = None


UpdateService = changes_of(CreateService, ServiceChange, leaving_out={"slug", "owner"})


class DeleteService(InputModel):
    service: Reference
    expected_version: int | None = None


class SetServiceOwners(InputModel):
    service: Reference
    owners: Annotated[
        list[OwnerInput], Field(min_length=1, max_length=rules.MAX_OWNERS_PER_SERVICE)
    ] = Field(description="Replaces every owner; exactly one must be PRIMARY.")


class ServiceDependency(InputModel):
    service: Reference
    depends_on: Reference


class ProviderInput(InputModel):
    """The provider adapter that deploys to an environment."""

    kind: Annotated[str, StringConstraints(min_length=1, max_length=63)] = Field(
        description="`simulated` or `webhook`."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The adapter's settings (camelCase); secrets are named, never given.",
    )


class ProtectionInput(InputModel):
    """Who must approve deployments to an environment."""

    required_approvals: Annotated[int, Field(ge=0, le=10)]
    approver_teams: list[Reference] = Field(default_factory=list, description="Team slugs.")
    prevent_self_approval: bool = True


class CreateEnvironment(InputModel):
    slug: Slug
    name: Name
    tier: EnvironmentTier
    description: Description | None = None
    provider: ProviderInput | None = None
    protection: ProtectionInput | None = None


class UpdateEnvironment(InputModel):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"tier", "provider", "protection"})

    environment: Reference
    expected_version: int | None = None
    name: Name | None = None
    description: Description | None = None
    tier: EnvironmentTier | None = None
    provider: ProviderInput | None = None
    protection: ProtectionInput | None = None


class DeleteEnvironment(InputModel):
    environment: Reference
    expected_version: int | None = None


class CatalogFormat(enum.StrEnum):
    """The formats `importCatalog` reads."""

    BACKSTAGE = "BACKSTAGE"


MAX_IMPORT_DOCUMENTS = 10_000
MAX_DOCUMENT_BYTES = 5_000_000
MAX_IMPORT_BYTES = 50_000_000
"""Bounds of one import, checked before anything is parsed (the HTTP body limit,
`PAVED_MAX_BODY_BYTES`, applies first)."""


class CatalogDocument(InputModel):
    """A file: its name (a relative path; Locations' targets are resolved against it) and its
    YAML, possibly several documents."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    content: Annotated[str, StringConstraints(max_length=MAX_DOCUMENT_BYTES)]


class ImportCatalog(InputModel):
    format: CatalogFormat
    documents: Annotated[
        list[CatalogDocument], Field(min_length=1, max_length=MAX_IMPORT_DOCUMENTS)
    ]
    dry_run: bool = Field(
        default=False, description="Report what the import would do; write nothing."
    )
    prune: bool = Field(
        default=False,
        description="Delete what earlier imports created and these documents no longer hold.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> ImportCatalog:
        total = sum(len(document.content) for document in self.documents)
        if total > MAX_IMPORT_BYTES:
            raise ValueError(f"the documents hold {total} characters; at most {MAX_IMPORT_BYTES}")
        names = [document.name for document in self.documents]
        if len(set(names)) != len(names):
            raise ValueError("two documents have the same name")
        return self


M = TypeVar("M", bound=InputModel)

# Fields that may be left out of an update but not set to null.
_NOT_NULLABLE = frozenset({"name", "email", "lifecycle", "tags", "links"})


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "string_pattern_mismatch" and error["loc"][-1] in ("slug", "handle"):
        return (
            "must be 1-63 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    return message.removeprefix("Value error, ")


class InvalidInput(Exception):
    """Every problem found in one input, each with the path of its field."""

    def __init__(self, errors: list[ValidationFailed]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def validate(
    model: type[M], data: dict[str, Any], *, not_nullable: frozenset[str] = frozenset()
) -> M:
    """Validate `data` (camelCase keys, only the fields the client sent)."""
    problems = [
        ValidationFailed(f"`{key}` cannot be null", ["input", key])
        for key in sorted((_NOT_NULLABLE | model.not_nullable | not_nullable) & data.keys())
        if data[key] is None
    ]
    try:
        validated = model.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            path = ["input", *(str(part) for part in detail["loc"])]
            if not any(problem.path == tuple(path) for problem in problems):
                problems.append(ValidationFailed(f"`{path[-1]}` {_message(detail)}", path))
    if problems:
        raise InvalidInput(problems)
    return validated


def as_sent(model: InputModel) -> dict[str, Any]:
    """The input as the client sent it: camelCase keys, only the fields it gave."""
    return model.model_dump(by_alias=True, exclude_unset=True)
