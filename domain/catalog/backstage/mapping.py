"""Backstage entities -> catalog candidates: Group -> Team, User -> User, Component -> Service;
Locations checked against the documents given (never fetched); other kinds skipped, saying why.

Pure and per entity: references are only parsed here; whether they resolve is the plan's
question (`domain.catalog.backstage.plan`), which sees the whole import and the catalog."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Any

from domain.catalog.backstage.documents import Document, read
from domain.catalog.backstage.model import (
    ImportResult,
    Mapped,
    ServiceCandidate,
    TeamCandidate,
    UserCandidate,
)
from domain.catalog.backstage.refs import DEFAULT_NAMESPACE, EntityRef, RefError, parse_ref
from domain.catalog.services import Lifecycle, Link
from domain.errors import CatalogError, NotFound, ValidationFailed

SKIPPED_KINDS = {
    "system": "Paved Road has no Systems: a Component's `spec.system` becomes its service's "
    "`system`",
    "domain": "Paved Road has no Domains",
    "api": "Paved Road has no APIs",
    "resource": "Paved Road's resources are requested per service, not imported",
    "template": "Paved Road's templates are not imported from Backstage",
}
_LIFECYCLES = {value.value.lower(): value for value in Lifecycle}
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def normalise(name: str) -> str:
    """A Backstage name as a slug: lower case, `_` and `.` as `-`."""
    return name.lower().replace("_", "-").replace(".", "-")


class _Invalid(Exception):
    def __init__(self, error: CatalogError) -> None:
        self.error = error


def _invalid(message: str, *path: str) -> _Invalid:
    return _Invalid(ValidationFailed(message, list(path)))


def _text(value: Any, *path: str, required: bool = False) -> str | None:
    """A scalar as text (YAML reads `name: 2024` as a number); None when absent."""
    if value is None or value == "":
        if required:
            raise _invalid(f"`{'.'.join(path)}` is required", *path)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(f"`{'.'.join(path)}` must be a string", *path)
    return str(value)


def _mapping(value: Any, *path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"`{'.'.join(path)}` must be a mapping", *path)
    return value


def _list(value: Any, *path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(f"`{'.'.join(path)}` must be a list", *path)
    return value


def _ref(value: Any, default_kind: str, *path: str) -> EntityRef:
    try:
        return parse_ref(value, default_kind)
    except RefError as error:
        raise _invalid(str(error), *path) from None


def _refs(value: Any, default_kind: str, *path: str) -> list[EntityRef]:
    return [
        _ref(item, default_kind, *path, str(index))
        for index, item in enumerate(_list(value, *path))
    ]


class _Entity:
    """One document read as an entity: its kind, reference, metadata and spec."""

    def __init__(self, document: Document) -> None:
        data = document.data
        self.location = document.location
        if not isinstance(data, dict):
            raise _invalid("a document must be a mapping (an entity)")
        self.kind = _text(data.get("kind"), "kind", required=True) or ""
        self.metadata = _mapping(data.get("metadata"), "metadata")
        self.spec = _mapping(data.get("spec"), "spec")
        self.name = _text(self.metadata.get("name"), "metadata", "name", required=True) or ""
        namespace = _text(self.metadata.get("namespace"), "metadata", "namespace")
        self.namespace = namespace or DEFAULT_NAMESPACE
        self.ref = EntityRef(self.kind, self.namespace, self.name)

    def result(self) -> ImportResult:
        result = ImportResult(str(self.ref), self.kind, self.location)
        slug = normalise(self.name)
        if slug != self.name:
            result.notes.append(f"name '{self.name}' normalised to '{slug}'")
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            result.notes.append(
                f"namespace '{self.namespace}' not kept: Paved Road has one namespace"
            )
        result.slug = slug
        return result

    def profile(self) -> dict[str, Any]:
        return _mapping(self.spec.get("profile"), "spec", "profile")

    def display_name(self) -> str:
        return (
            _text(self.profile().get("displayName"), "spec", "profile", "displayName")
            or _text(self.metadata.get("title"), "metadata", "title")
            or self.name
        )


def _team(entity: _Entity) -> TeamCandidate:
    return TeamCandidate(
        ref=entity.ref,
        result=entity.result(),
        name=entity.display_name(),
        description=_text(entity.metadata.get("description"), "metadata", "description"),
        parent=(
            _ref(entity.spec["parent"], "group", "spec", "parent")
            if entity.spec.get("parent") is not None
            else None
        ),
        children=_refs(entity.spec.get("children"), "group", "spec", "children"),
        members=_refs(entity.spec.get("members"), "user", "spec", "members"),
    )


def _user(entity: _Entity) -> UserCandidate | ImportResult:
    email = _text(entity.profile().get("email"), "spec", "profile", "email")
    if email is None:
        result = entity.result()
        result.slug = None
        result.skip("no `spec.profile.email`: every Paved Road user has an email address")
        return result
    return UserCandidate(
        ref=entity.ref,
        result=entity.result(),
        name=entity.display_name(),
        email=email,
        member_of=_refs(entity.spec.get("memberOf"), "group", "spec", "memberOf"),
    )


def _links(entity: _Entity) -> tuple[Link, ...]:
    links = []
    for index, item in enumerate(_list(entity.metadata.get("links"), "metadata", "links")):
        path = ("metadata", "links", str(index))
        link = _mapping(item, *path)
        url = _text(link.get("url"), *path, "url", required=True) or ""
        title = _text(link.get("title"), *path, "title") or url[:200]
        links.append(Link(title=title, url=url))
    return tuple(links)


def _repository_url(entity: _Entity, result: ImportResult) -> str | None:
    annotations = _mapping(entity.metadata.get("annotations"), "metadata", "annotations")
    project = annotations.get("github.com/project-slug")
    if isinstance(project, str) and project.strip():
        return f"https://github.com/{project.strip()}"
    source = annotations.get("backstage.io/source-location")
    if isinstance(source, str) and source.strip():
        kind, _, target = source.strip().partition(":")
        if kind == "url" and target.startswith(("http://", "https://")):
            return target
        result.notes.append(f"source location '{source}' not kept: not an http(s) URL")
    return None


def _service(entity: _Entity) -> ServiceCandidate:
    result = entity.result()
    lifecycle_text = _text(entity.spec.get("lifecycle"), "spec", "lifecycle")
    lifecycle = _LIFECYCLES.get((lifecycle_text or "").lower())
    if lifecycle is None:
        lifecycle = Lifecycle.EXPERIMENTAL
        written = f"lifecycle '{lifecycle_text}'" if lifecycle_text else "no `spec.lifecycle`"
        result.notes.append(f"{written}: mapped to EXPERIMENTAL")
    if entity.spec.get("owner") is None:
        raise _invalid("a Component needs `spec.owner`", "spec", "owner")
    owner = _ref(entity.spec["owner"], "group", "spec", "owner")
    if owner.kind.lower() != "group":
        raise _invalid(
            f"owner '{owner}' is not a Group: Paved Road services are owned by teams",
            "spec",
            "owner",
        )
    depends_on = []
    for ref in _refs(entity.spec.get("dependsOn"), "component", "spec", "dependsOn"):
        if ref.kind.lower() == "component":
            depends_on.append(ref)
        else:
            result.notes.append(f"dependency on '{ref}' not kept: only Components are services")
    system = None
    if entity.spec.get("system") is not None:
        system_ref = _ref(entity.spec["system"], "system", "spec", "system")
        system = normalise(system_ref.name)
        if system != system_ref.name:
            result.notes.append(f"system '{system_ref.name}' normalised to '{system}'")
    tags = tuple(
        _text(tag, "metadata", "tags", str(index), required=True) or ""
        for index, tag in enumerate(_list(entity.metadata.get("tags"), "metadata", "tags"))
    )
    return ServiceCandidate(
        ref=entity.ref,
        result=result,
        name=_text(entity.metadata.get("title"), "metadata", "title") or entity.name,
        description=_text(entity.metadata.get("description"), "metadata", "description"),
        lifecycle=lifecycle,
        tags=tags,
        links=_links(entity),
        repository_url=_repository_url(entity, result),
        system=system,
        owner=owner,
        depends_on=depends_on,
    )


def _location(entity: _Entity, file: str, files: set[str]) -> ImportResult:
    result = ImportResult(str(entity.ref), entity.kind, entity.location)
    targets = []
    if entity.spec.get("target") is not None:
        targets.append(_text(entity.spec["target"], "spec", "target"))
    targets += [
        _text(item, "spec", "targets", str(index))
        for index, item in enumerate(_list(entity.spec.get("targets"), "spec", "targets"))
    ]
    found, remote = 0, []
    for target in targets:
        if target is None:
            continue
        if _URL.match(target):
            remote.append(target)
            continue
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(file), target))
        if resolved in files:
            found += 1
        else:
            result.fail(
                NotFound(
                    f"target '{target}' ({resolved}) is not among the documents given; "
                    "targets are never fetched",
                    ["spec", "targets"],
                )
            )
    if result.errors:
        return result
    result.skip(f"a Location is not stored: {found} target(s) read from the documents given")
    if remote:
        result.notes.append(f"not fetched: {', '.join(remote)}")
    return result


def map_documents(files: Sequence[tuple[str, str]]) -> Mapped:
    """Every entity of `files` ((name, YAML text) pairs), in order, with its result; the
    entities that map to the catalog also as candidates."""
    mapped = Mapped()
    names = {posixpath.normpath(name) for name, _ in files}
    for name, text in files:
        for document in read(name, text):
            mapped.results.append(_entity_result(mapped, document, posixpath.normpath(name), names))
    return mapped


def _entity_result(mapped: Mapped, document: Document, file: str, files: set[str]) -> ImportResult:
    if document.problem is not None:
        failed = ImportResult("", "", document.location)
        failed.fail(ValidationFailed(f"the YAML does not parse: {document.problem}"))
        return failed
    entity: _Entity | None = None
    try:
        entity = _Entity(document)
        kind = entity.kind.lower()
        if kind == "group":
            team = _team(entity)
            mapped.teams.append(team)
            return team.result
        if kind == "user":
            user = _user(entity)
            if isinstance(user, ImportResult):
                mapped.skipped.add(entity.ref)
                return user
            mapped.users.append(user)
            return user.result
        if kind == "component":
            service = _service(entity)
            mapped.services.append(service)
            return service.result
        if kind == "location":
            return _location(entity, file, files)
        skipped = ImportResult(str(entity.ref), entity.kind, document.location)
        skipped.skip(SKIPPED_KINDS.get(kind, f"Paved Road does not import {entity.kind} entities"))
        return skipped
    except _Invalid as invalid:
        if entity is None:
            failed = ImportResult("", "", document.location)
        else:
            failed = ImportResult(str(entity.ref), entity.kind, document.location)
        failed.fail(invalid.error)
        return failed


def location_targets(file: str, text: str) -> list[str]:
    """The files the Locations of `file` name (resolved against `file`'s name; URLs left
    out), for a client that reads local files to follow them; never fails on bad input."""
    found: list[str] = []
    for document in read(file, text):
        data = document.data
        if not isinstance(data, dict) or str(data.get("kind", "")).lower() != "location":
            continue
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        targets = spec.get("targets") if isinstance(spec.get("targets"), list) else []
        assert isinstance(targets, list)
        for target in [spec.get("target"), *targets]:
            if isinstance(target, str) and target and not _URL.match(target):
                joined = posixpath.join(posixpath.dirname(file), target)
                found.append(posixpath.normpath(joined))
    return found
