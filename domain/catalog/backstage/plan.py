"""An import against the catalog as it is: which references resolve, what collides, and what
each entity's result is (CREATED, UPDATED, UNCHANGED, FAILED, and DELETED for what a pruning
import no longer has). Pure: the adapter reads the catalog (`Snapshot`), asks for the `Plan`,
and writes what it says, all in one transaction.

Order does not matter: every reference is resolved against the whole import first, then the
catalog. An entity whose reference resolves to nothing fails (NOT_FOUND, naming the
reference); one that needs an entity that failed (its owner, parent, team, dependency) fails
too (PRECONDITION_FAILED, naming it), and so on down the chain; the others import."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from domain.catalog.backstage.mapping import normalise
from domain.catalog.backstage.model import (
    Candidate,
    ImportAction,
    ImportResult,
    Mapped,
    ServiceCandidate,
    Target,
    TeamCandidate,
    UserCandidate,
)
from domain.catalog.backstage.refs import EntityRef
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.rules import describe_names
from domain.catalog.services import ServiceRecord
from domain.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed


@dataclass(frozen=True, slots=True)
class TeamState:
    record: TeamRecord
    parent: str | None
    imported_ref: str | None
    """The entity reference of the import that created it; None: made otherwise."""
    has_clients: bool = False


@dataclass(frozen=True, slots=True)
class UserState:
    record: UserRecord
    teams: frozenset[str]
    imported_ref: str | None


@dataclass(frozen=True, slots=True)
class ServiceState:
    record: ServiceRecord
    owner: str | None
    """The primary owner team's slug."""
    owners: frozenset[str]
    """Every owner team's slug (primary and contributors)."""
    depends_on: frozenset[str]
    imported_ref: str | None
    has_resources: bool = False
    """It has resources not DELETED (which keep it from being deleted)."""


@dataclass(slots=True)
class Snapshot:
    """The catalog as the import finds it, by slug (handle for users)."""

    teams: dict[str, TeamState] = field(default_factory=dict)
    users: dict[str, UserState] = field(default_factory=dict)
    services: dict[str, ServiceState] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    """What to write, set by set, and every result."""

    results: list[ImportResult]
    create_teams: list[TeamCandidate] = field(default_factory=list)
    update_teams: list[TeamCandidate] = field(default_factory=list)
    parents: dict[str, str | None] = field(default_factory=dict)
    """Teams whose parent is to be set (new ones with a parent, moved ones)."""
    create_users: list[UserCandidate] = field(default_factory=list)
    update_users: list[UserCandidate] = field(default_factory=list)
    add_members: list[tuple[str, str]] = field(default_factory=list)
    """(team, user handle) memberships to add; `remove_members` to remove."""
    remove_members: list[tuple[str, str]] = field(default_factory=list)
    create_services: list[ServiceCandidate] = field(default_factory=list)
    update_services: list[ServiceCandidate] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    """Services (new ones too) whose primary owner is to be set."""
    add_dependencies: list[tuple[str, str]] = field(default_factory=list)
    remove_dependencies: list[tuple[str, str]] = field(default_factory=list)
    delete_services: list[str] = field(default_factory=list)
    delete_users: list[str] = field(default_factory=list)
    delete_teams: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return any(
            (
                self.create_teams, self.update_teams, self.parents, self.create_users,
                self.update_users, self.add_members, self.remove_members, self.create_services,
                self.update_services, self.owners, self.add_dependencies,
                self.remove_dependencies, self.delete_services, self.delete_users,
                self.delete_teams,
            )
        )  # fmt: skip


def _failed(candidate: Candidate) -> bool:
    return candidate.result.action is ImportAction.FAILED


class _Resolver:
    """References resolved against the import first, then the catalog."""

    def __init__(self, mapped: Mapped, snapshot: Snapshot) -> None:
        self.by_ref: dict[EntityRef, Candidate] = {}
        self.by_slug: dict[tuple[str, str], Candidate] = {}
        for candidate in mapped.candidates():
            self.by_ref.setdefault(candidate.ref, candidate)
            self.by_slug.setdefault((candidate.ref.kind.lower(), candidate.key), candidate)
        self.skipped = mapped.skipped
        self.catalog = {
            "group": snapshot.teams.keys(),
            "user": snapshot.users.keys(),
            "component": snapshot.services.keys(),
        }

    def resolve(self, ref: EntityRef) -> Candidate | str | None:
        """The candidate it names (exactly, else once both names are normalised), else the
        slug of a catalog entity, else None."""
        found = self.by_ref.get(ref)
        if found is not None:
            return found
        slug = normalise(ref.name)
        found = self.by_slug.get((ref.kind.lower(), slug))
        if found is not None:
            return found
        return slug if slug in self.catalog.get(ref.kind.lower(), ()) else None

    def slug(self, ref: EntityRef) -> str | None:
        found = self.resolve(ref)
        return found.key if isinstance(found, Candidate) else found


def _shown(ref: EntityRef) -> str:
    """A reference as messages quote it: whole, unless it is absurdly long."""
    text = str(ref)
    return text if len(text) <= 200 else f"{text[:200]}..."


def _not_found(ref: EntityRef, path: str) -> NotFound:
    return NotFound(f"'{_shown(ref)}' is neither in the import nor in the catalog", path.split("."))


def _collisions(candidates: Iterable[Candidate], what: str) -> None:
    """Entities that become the same catalog entity all fail."""
    by_slug: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_slug[candidate.key].append(candidate)
    for slug, same in by_slug.items():
        if len(same) < 2:
            continue
        for candidate in same:
            others = [
                f"{c.result.entity_ref} ({c.result.location})" for c in same if c is not candidate
            ]
            candidate.result.fail(
                Conflict(
                    f"{what} '{slug}' would also be made from {describe_names(others)}",
                    ["metadata", "name"],
                )
            )


def _email_collisions(users: list[UserCandidate], snapshot: Snapshot) -> None:
    by_email: dict[str, list[UserCandidate]] = defaultdict(list)
    for user in users:
        by_email[user.email.lower()].append(user)
    holders = {state.record.email.lower(): handle for handle, state in snapshot.users.items()}
    for email, same in by_email.items():
        holder = holders.get(email)
        for user in same:
            if len(same) > 1:
                others = [u.result.entity_ref for u in same if u is not user]
                message = f"the email '{user.email}' is also {describe_names(others)}'s"
            elif holder is not None and holder != user.key:
                message = f"user '{holder}' already has the email '{user.email}'"
            else:
                continue
            if not _failed(user):
                user.result.fail(Conflict(message, ["spec", "profile", "email"]))


class _Needs:
    """Which candidates need which (to cascade failures), and direct failures."""

    def __init__(self, resolver: _Resolver) -> None:
        self.resolver = resolver
        self.dependents: dict[int, list[tuple[Candidate, EntityRef]]] = defaultdict(list)

    def need(self, candidate: Candidate, ref: EntityRef, path: str, cascade: bool = True) -> None:
        if ref in self.resolver.skipped:
            return
        found = self.resolver.resolve(ref)
        if found is None:
            if not _failed(candidate):
                candidate.result.fail(_not_found(ref, path))
        elif isinstance(found, Candidate) and cascade and found is not candidate:
            self.dependents[id(found)].append((candidate, ref))

    def cascade(self, candidates: list[Candidate]) -> None:
        queue = deque(c for c in candidates if _failed(c))
        while queue:
            failed = queue.popleft()
            for dependent, ref in self.dependents.get(id(failed), ()):
                if not _failed(dependent):
                    dependent.result.fail(
                        PreconditionFailed(f"'{_shown(ref)}' failed to import", None)
                    )
                    queue.append(dependent)


def _parents(mapped: Mapped, resolver: _Resolver, snapshot: Snapshot) -> dict[str, str | None]:
    """Each team's parent after the import (by slug): its `spec.parent`, else the group that
    lists it among its `spec.children`; a team the import does not hold keeps its own. A
    team whose two say different things fails (CONFLICT)."""
    claimed: dict[str, list[TeamCandidate]] = defaultdict(list)
    for team in mapped.teams:
        if _failed(team):
            continue
        for child in team.children:
            found = resolver.resolve(child)
            if isinstance(found, TeamCandidate):
                claimed[found.key].append(team)
            elif isinstance(found, str) and snapshot.teams[found].parent != team.key:
                team.result.notes.append(
                    f"child '{found}' is not in this import: its parent is left as it is"
                )
    parents: dict[str, str | None] = {slug: s.parent for slug, s in snapshot.teams.items()}
    for team in mapped.teams:
        if _failed(team):
            continue
        own = resolver.slug(team.parent) if team.parent is not None else None
        claims = {c.key for c in claimed.get(team.key, [])}
        if (own is not None and claims - {own}) or (own is None and len(claims) > 1):
            listed = describe_names(sorted(claims))
            team.result.fail(
                Conflict(
                    f"its parent is '{own or '-'}' but {listed} list it in spec.children",
                    ["spec", "parent"],
                )
            )
            continue
        parents[team.key] = own if own is not None else (claims.pop() if claims else None)
    return parents


def _cycles(mapped: Mapped, parents: dict[str, str | None]) -> None:
    by_slug = {team.key: team for team in mapped.teams if not _failed(team)}
    for team in by_slug.values():
        seen = [team.key]
        parent = parents.get(team.key)
        while parent is not None and parent not in seen:
            seen.append(parent)
            parent = parents.get(parent)
        if parent == team.key:
            team.result.fail(
                ValidationFailed(
                    f"the team hierarchy would be a cycle: {' -> '.join([*seen, team.key])}",
                    ["spec", "parent"],
                )
            )


def plan(mapped: Mapped, snapshot: Snapshot, *, prune: bool = False) -> Plan:
    """The results of `mapped` against `snapshot` and the writes they need. Candidates that
    already FAILED (invalid fields) stay failed."""
    _collisions(mapped.teams, "team")
    _collisions(mapped.users, "user")
    _collisions(mapped.services, "service")
    _email_collisions(mapped.users, snapshot)
    resolver = _Resolver(mapped, snapshot)
    needs = _Needs(resolver)
    for team in mapped.teams:
        if team.parent is not None:
            needs.need(team, team.parent, "spec.parent")
        for ref in team.children:
            needs.need(team, ref, "spec.children", cascade=False)
        for ref in team.members:
            needs.need(team, ref, "spec.members", cascade=False)
    for user in mapped.users:
        for ref in user.member_of:
            needs.need(user, ref, "spec.memberOf")
    for service in mapped.services:
        needs.need(service, service.owner, "spec.owner")
        for ref in service.depends_on:
            needs.need(service, ref, "spec.dependsOn")
    candidates = mapped.candidates()
    needs.cascade(candidates)
    parents = _parents(mapped, resolver, snapshot)
    _cycles(mapped, parents)
    needs.cascade(candidates)

    result = Plan(results=list(mapped.results))
    _teams(result, mapped, snapshot, parents)
    _users(result, mapped, resolver, snapshot)
    _services(result, mapped, resolver, snapshot)
    if prune:
        _prune(result, mapped, resolver, snapshot, parents)
    return result


def _teams(plan: Plan, mapped: Mapped, snapshot: Snapshot, parents: dict[str, str | None]) -> None:
    for team in mapped.teams:
        if _failed(team):
            continue
        parent = parents.get(team.key)
        state = snapshot.teams.get(team.key)
        if state is None:
            team.result.action = ImportAction.CREATED
            plan.create_teams.append(team)
            if parent is not None:
                plan.parents[team.key] = parent
            continue
        team.result.target = state.record
        same = (state.record.name, state.record.description) == (team.name, team.description)
        if parent != state.parent:
            plan.parents[team.key] = parent
        if not same:
            plan.update_teams.append(team)
        unchanged = same and parent == state.parent
        team.result.action = ImportAction.UNCHANGED if unchanged else ImportAction.UPDATED


def _users(plan: Plan, mapped: Mapped, resolver: _Resolver, snapshot: Snapshot) -> None:
    listed: dict[str, set[str]] = defaultdict(set)
    """Users (handle) that groups of the import list in `spec.members`."""
    for team in mapped.teams:
        if _failed(team):
            continue
        for ref in team.members:
            found = resolver.resolve(ref)
            if isinstance(found, Candidate) and _failed(found):
                continue
            handle = found.key if isinstance(found, Candidate) else found
            if handle is not None:
                listed[handle].add(team.key)
    importing: set[str] = set()
    for user in mapped.users:
        if _failed(user):
            continue
        importing.add(user.key)
        teams = {slug for ref in user.member_of if (slug := resolver.slug(ref)) is not None}
        teams |= listed.get(user.key, set())
        state = snapshot.users.get(user.key)
        before = state.teams if state is not None else frozenset()
        plan.add_members += [(team, user.key) for team in sorted(teams - before)]
        plan.remove_members += [(team, user.key) for team in sorted(before - teams)]
        if state is None:
            user.result.action = ImportAction.CREATED
            plan.create_users.append(user)
            continue
        user.result.target = state.record
        same = (state.record.name, state.record.email) == (user.name, user.email)
        if not same:
            plan.update_users.append(user)
        unchanged = same and teams == before
        user.result.action = ImportAction.UNCHANGED if unchanged else ImportAction.UPDATED
    for handle, teams in sorted(listed.items()):
        if handle in importing or handle not in snapshot.users:
            continue
        missing = teams - snapshot.users[handle].teams
        plan.add_members += [(team, handle) for team in sorted(missing)]


def _service_fields(service: ServiceCandidate) -> tuple[object, ...]:
    return (
        service.name, service.description, service.lifecycle, service.tags, service.links,
        service.repository_url, service.system,
    )  # fmt: skip


def _record_fields(record: ServiceRecord) -> tuple[object, ...]:
    return (
        record.name, record.description, record.lifecycle, record.tags, record.links,
        record.repository_url, record.system,
    )  # fmt: skip


def _services(plan: Plan, mapped: Mapped, resolver: _Resolver, snapshot: Snapshot) -> None:
    for service in mapped.services:
        if _failed(service):
            continue
        owner = resolver.slug(service.owner)
        assert owner is not None
        depends = {slug for ref in service.depends_on if (slug := resolver.slug(ref)) is not None}
        if service.key in depends:
            depends.discard(service.key)
            service.result.notes.append("its dependency on itself is not kept")
        state = snapshot.services.get(service.key)
        before = state.depends_on if state is not None else frozenset()
        plan.add_dependencies += [(service.key, slug) for slug in sorted(depends - before)]
        plan.remove_dependencies += [(service.key, slug) for slug in sorted(before - depends)]
        if state is None:
            service.result.action = ImportAction.CREATED
            plan.create_services.append(service)
            plan.owners[service.key] = owner
            continue
        service.result.target = state.record
        same = _service_fields(service) == _record_fields(state.record)
        if not same:
            plan.update_services.append(service)
        if owner != state.owner:
            plan.owners[service.key] = owner
        unchanged = same and owner == state.owner and depends == before
        service.result.action = ImportAction.UNCHANGED if unchanged else ImportAction.UPDATED


def _deleted(ref: str | None, kind: str, slug: str) -> ImportResult:
    result = ImportResult(ref or f"{kind.lower()}:default/{slug}", kind, "", slug=slug)
    result.action = ImportAction.DELETED
    return result


def _prune(
    plan: Plan,
    mapped: Mapped,
    resolver: _Resolver,
    snapshot: Snapshot,
    parents: dict[str, str | None],
) -> None:
    """What earlier imports created and this one no longer holds goes, unless something
    that stays still needs it (then it FAILED, saying what)."""
    held = {
        Target.TEAM: {c.key for c in mapped.teams},
        Target.USER: {c.key for c in mapped.users},
        Target.SERVICE: {c.key for c in mapped.services},
    }
    referenced = {
        (ref.kind.lower(), slug)
        for candidate in mapped.candidates()
        if not _failed(candidate)
        for ref in _refs_of(candidate)
        if isinstance(slug := resolver.resolve(ref), str)
    }

    def still_named(kind: str, slug: str, what: str) -> PreconditionFailed | None:
        if (kind, slug) in referenced:
            return PreconditionFailed(f"{what} '{slug}' is still named by the import")
        return None

    for slug, state in sorted(snapshot.services.items()):
        if state.imported_ref is None or slug in held[Target.SERVICE]:
            continue
        result = _deleted(state.imported_ref, "Component", slug)
        refusal = still_named("component", slug, "service")
        if state.has_resources:
            refusal = PreconditionFailed(f"service '{slug}' still has resources; delete them first")
        if refusal is not None:
            result.fail(refusal)
        else:
            plan.delete_services.append(slug)
            plan.add_dependencies = [d for d in plan.add_dependencies if d[1] != slug]
        plan.results.append(result)
    for slug, user in sorted(snapshot.users.items()):
        if user.imported_ref is None or slug in held[Target.USER]:
            continue
        result = _deleted(user.imported_ref, "User", slug)
        refusal = still_named("user", slug, "user")
        if refusal is not None:
            result.fail(refusal)
        else:
            plan.delete_users.append(slug)
            plan.add_members = [(t, u) for t, u in plan.add_members if u != slug]
        plan.results.append(result)
    _prune_teams(plan, snapshot, parents, held[Target.TEAM], still_named)


def _prune_teams(
    plan: Plan,
    snapshot: Snapshot,
    parents: dict[str, str | None],
    held: set[str],
    still_named: Callable[[str, str, str], PreconditionFailed | None],
) -> None:
    gone = set(plan.delete_services)
    owned = set(plan.owners.values())
    for slug, service in snapshot.services.items():
        if slug not in gone:
            owner = plan.owners.get(slug, service.owner)
            owned |= service.owners - {service.owner} | ({owner} if owner else set())
    results: dict[str, ImportResult] = {}
    deletable: set[str] = set()
    for slug, team in sorted(snapshot.teams.items()):
        if team.imported_ref is None or slug in held:
            continue
        result = results[slug] = _deleted(team.imported_ref, "Group", slug)
        refusal = still_named("group", slug, "team")
        if slug in owned:
            refusal = PreconditionFailed(f"team '{slug}' still owns services")
        elif team.has_clients:
            refusal = PreconditionFailed(f"team '{slug}' still has API clients")
        if refusal is not None:
            result.fail(refusal)
        else:
            deletable.add(slug)
    changed = True
    while changed:
        changed = False
        for slug in sorted(deletable):
            staying = sorted(t for t, p in parents.items() if p == slug and t not in deletable)
            if staying:
                results[slug].fail(
                    PreconditionFailed(
                        f"team '{slug}' still has sub-teams {describe_names(staying)}"
                    )
                )
                deletable.discard(slug)
                changed = True
    plan.delete_teams = sorted(deletable)
    plan.add_members = [(t, u) for t, u in plan.add_members if t not in deletable]
    plan.results += results.values()


def _refs_of(candidate: Candidate) -> list[EntityRef]:
    if isinstance(candidate, TeamCandidate):
        return [r for r in (candidate.parent, *candidate.children, *candidate.members) if r]
    if isinstance(candidate, UserCandidate):
        return list(candidate.member_of)
    if isinstance(candidate, ServiceCandidate):
        return [candidate.owner, *candidate.depends_on]
    return []
