"""The catalog as Backstage `catalog-info.yaml` files: one per team folder (the Group, the
services it owns as primary, the users whose first team it is) and a root file holding a
`Location` that lists them (and the users of no team). Importing them again changes nothing:
every field written is one the import reads back to the same value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from domain.catalog.services import Lifecycle, Link

API_VERSION = "backstage.io/v1alpha1"
ROOT = "catalog-info.yaml"


@dataclass(frozen=True, slots=True)
class TeamEntry:
    slug: str
    name: str
    description: str | None
    parent: str | None


@dataclass(frozen=True, slots=True)
class UserEntry:
    handle: str
    name: str
    email: str
    teams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    slug: str
    name: str
    description: str | None
    lifecycle: Lifecycle
    tags: tuple[str, ...]
    links: tuple[Link, ...]
    repository_url: str | None
    system: str | None
    owner: str | None
    depends_on: tuple[str, ...]


def _entity(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != ()}


def group(team: TeamEntry, children: Sequence[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "team", "profile": {"displayName": team.name}}
    if team.parent is not None:
        spec["parent"] = team.parent
    spec["children"] = sorted(children)
    return _entity("Group", _present(name=team.slug, description=team.description), spec)


def user(entry: UserEntry) -> dict[str, Any]:
    spec = {
        "profile": {"displayName": entry.name, "email": entry.email},
        "memberOf": sorted(entry.teams),
    }
    return _entity("User", {"name": entry.handle}, spec)


def component(service: ServiceEntry) -> dict[str, Any]:
    metadata = _present(name=service.slug, title=service.name, description=service.description)
    if service.tags:
        metadata["tags"] = list(service.tags)
    if service.links:
        metadata["links"] = [{"url": link.url, "title": link.title} for link in service.links]
    if service.repository_url is not None:
        source = f"url:{service.repository_url}"
        metadata["annotations"] = {"backstage.io/source-location": source}
    spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": service.lifecycle.value.lower(),
        "owner": f"group:{service.owner}" if service.owner else None,
    }
    if spec["owner"] is None:
        del spec["owner"]
    if service.system is not None:
        spec["system"] = service.system
    if service.depends_on:
        spec["dependsOn"] = [f"component:{slug}" for slug in sorted(service.depends_on)]
    return _entity("Component", metadata, spec)


def _yaml(documents: Sequence[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=100)


def export_catalog(
    teams: Sequence[TeamEntry], users: Sequence[UserEntry], services: Sequence[ServiceEntry]
) -> dict[str, str]:
    """File path (relative, `/`-separated) -> YAML text."""
    children: dict[str, list[str]] = defaultdict(list)
    for team in teams:
        if team.parent is not None:
            children[team.parent].append(team.slug)
    folders: dict[str, list[dict[str, Any]]] = {
        team.slug: [group(team, children[team.slug])] for team in sorted(teams, key=_slug)
    }
    teamless: list[dict[str, Any]] = []
    for entry in sorted(users, key=lambda u: u.handle):
        first = min((t for t in entry.teams if t in folders), default=None)
        (folders[first] if first is not None else teamless).append(user(entry))
    for service in sorted(services, key=lambda s: s.slug):
        if service.owner in folders:
            folders[service.owner].append(component(service))
        else:
            teamless.append(component(service))
    location = _entity(
        "Location",
        {"name": "paved-road-catalog", "description": "The Paved Road catalog, by team"},
        {"targets": [f"./{slug}/{ROOT}" for slug in folders]},
    )
    files = {ROOT: _yaml([location, *teamless])}
    files.update({f"{slug}/{ROOT}": _yaml(documents) for slug, documents in folders.items()})
    return files


def _slug(team: TeamEntry) -> str:
    return team.slug
