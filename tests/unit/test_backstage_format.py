"""Backstage's format without a database: entity references, documents read one by one (and
hostile ones refused as they are read), names normalised, and the files an export writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.catalog.backstage import documents
from domain.catalog.backstage.export import ServiceEntry, TeamEntry, UserEntry, export_catalog
from domain.catalog.backstage.mapping import location_targets, map_documents, normalise
from domain.catalog.backstage.model import ImportAction
from domain.catalog.backstage.plan import Snapshot, TeamState, plan
from domain.catalog.backstage.refs import EntityRef, RefError, parse_ref
from domain.catalog.records import TeamRecord
from domain.catalog.services import Lifecycle, Link


@pytest.mark.parametrize(
    ("written", "default", "expected"),
    [
        ("team-a", "group", ("group", "default", "team-a")),
        ("Group:team-a", "group", ("Group", "default", "team-a")),
        ("default/team-a", "group", ("group", "default", "team-a")),
        ("user:dev/guest", "group", ("user", "dev", "guest")),
        ("component:a/b/c", "component", ("component", "a", "b/c")),
        ({"kind": "User", "name": "x"}, "group", ("User", "default", "x")),
    ],
)
def test_references_follow_backstage_rules(
    written: object, default: str, expected: tuple[str, str, str]
) -> None:
    ref = parse_ref(written, default)
    assert (ref.kind, ref.namespace, ref.name) == expected


def test_references_compare_without_case() -> None:
    assert parse_ref("Group:Default/Team-A", None) == EntityRef("group", "default", "team-a")
    assert str(parse_ref("Group:Default/Team-A", None)) == "group:Default/Team-A"


@pytest.mark.parametrize("bad", ["", "  ", "group:", "x/", 42, None, {"kind": "group"}])
def test_what_is_no_reference_is_refused(bad: object) -> None:
    with pytest.raises(RefError):
        parse_ref(bad, "group")


def test_a_kind_is_needed_where_the_field_has_no_default() -> None:
    with pytest.raises(RefError, match="needs a kind"):
        parse_ref("x", None)


def test_names_normalise_to_slugs() -> None:
    assert normalise("Team_A.Web") == "team-a-web"
    assert normalise("ok-name") == "ok-name"


def test_each_document_is_read_alone_with_its_line() -> None:
    text = "a: 1\n---\nb: [1, 2\n---\n# nothing\n---\nc: [yes, ~, 0x10, '3', 2024-01-01]\n...\n"
    read = documents.read("f.yaml", text)
    assert [(d.index, d.line, d.data) for d in read] == [
        (1, 1, {"a": 1}),
        (2, 2, None),
        (3, 6, {"c": [True, None, 16, "3", "2024-01-01"]}),
    ]
    assert read[1].problem is not None
    assert "(line 3)" in read[1].problem
    assert read[2].location == "f.yaml#3"


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("a: &a [x, x]\nb: [*a, *a]\n", "YAML aliases (*a) are not accepted (line 2)"),
        ("a: &a [*a]\n", "YAML aliases (*a) are not accepted (line 1)"),
        ("a: " + "[" * 500 + "]" * 500, "nested deeper than 32 levels (line 1)"),
        ("a: " + "[" * 100_000 + "]" * 100_000, "exceeded maximum nesting depth"),
        ("!!python/object:os.system\nx: 1\n", "is not accepted"),
        ("x: !!python/name:os.system ''\n", "is not accepted"),
        ("? [a]\n: b\n", "only scalars may be mapping keys"),
        ("[" + "1, " * 100_001 + "1]", "more than 100000 YAML nodes"),
    ],
)
def test_hostile_yaml_is_refused_as_it_is_read(text: str, refused: str) -> None:
    (document,) = documents.read("evil.yaml", text)
    assert document.data is None
    assert document.problem is not None
    assert refused in document.problem


def test_the_billion_laughs_are_refused_at_the_first_alias() -> None:
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(9)
    )
    (document,) = documents.read("lol.yaml", laughs)
    assert document.problem == "YAML aliases (*a) are not accepted (line 2)"


def test_location_targets_resolve_against_their_own_file() -> None:
    text = (
        "kind: Location\nmetadata: {name: x}\n"
        "spec: {target: ../a.yaml, targets: [./b/c.yaml, 'https://x/y.yaml']}\n"
    )
    assert location_targets("dir/all.yaml", text) == ["a.yaml", "dir/b/c.yaml"]


TEAMS = [
    TeamEntry("platform", "Platform", "The platform", None),
    TeamEntry("payments", "Payments", None, "platform"),
]
USERS = [
    UserEntry("ada", "Ada", "ada@example.com", ("payments", "platform")),
    UserEntry("bob", "Bob", "bob@example.com", ()),
]
SERVICES = [
    ServiceEntry(
        "ledger", "The Ledger", "Money", Lifecycle.PRODUCTION, ("core",),
        (Link("Docs", "https://docs.example.com"),), "https://github.com/acme/ledger",
        "billing", "payments", ("fx",),
    ),
    ServiceEntry(
        "fx", "FX", None, Lifecycle.DEPRECATED, (), (), None, None, "platform", (),
    ),
]  # fmt: skip


def test_an_export_is_one_file_per_team_and_a_root_location() -> None:
    files = export_catalog(TEAMS, USERS, SERVICES)
    assert sorted(files) == [
        "catalog-info.yaml",
        "payments/catalog-info.yaml",
        "platform/catalog-info.yaml",
    ]
    assert location_targets("catalog-info.yaml", files["catalog-info.yaml"]) == [
        "payments/catalog-info.yaml",
        "platform/catalog-info.yaml",
    ]
    mapped = map_documents(sorted(files.items()))
    results = plan(mapped, Snapshot()).results
    assert sorted((r.kind, r.slug, r.action) for r in results if r.kind != "Location") == [
        ("Component", "fx", ImportAction.CREATED),
        ("Component", "ledger", ImportAction.CREATED),
        ("Group", "payments", ImportAction.CREATED),
        ("Group", "platform", ImportAction.CREATED),
        ("User", "ada", ImportAction.CREATED),
        ("User", "bob", ImportAction.CREATED),
    ]
    ledger = next(s for s in mapped.services if s.key == "ledger")
    assert (ledger.name, ledger.description, ledger.lifecycle, ledger.tags) == (
        "The Ledger", "Money", Lifecycle.PRODUCTION, ("core",),
    )  # fmt: skip
    assert ledger.repository_url == "https://github.com/acme/ledger"
    assert (ledger.system, str(ledger.owner), [str(d) for d in ledger.depends_on]) == (
        "billing", "group:default/payments", ["component:default/fx"],
    )  # fmt: skip


def test_a_refused_document_of_a_file_that_parses_fails_alone() -> None:
    read = documents.read("f.yaml", "a: 1\n---\nb: &x [1]\nc: *x\n---\nd: 2\n")
    assert [(d.index, d.data, d.problem) for d in read] == [
        (1, {"a": 1}, None),
        (2, None, "YAML aliases (*x) are not accepted (line 4)"),
        (3, {"d": 2}, None),
    ]


def test_a_child_only_in_the_catalog_keeps_its_parent_and_the_result_says_so() -> None:
    now = datetime.now(UTC)
    web = TeamRecord(1, "web", "Web", None, None, 1, now, now)
    snapshot = Snapshot(teams={"web": TeamState(web, None, None)})
    mapped = map_documents(
        [("org.yaml", "kind: Group\nmetadata: {name: org}\nspec: {children: [web]}\n")]
    )
    (result,) = plan(mapped, snapshot).results
    assert result.action is ImportAction.CREATED
    assert result.notes == ["child 'web' is not in this import: its parent is left as it is"]
