"""Services, their owners and dependencies, and environments through the API."""

from __future__ import annotations

from typing import Any

from tests.support.catalog import create_teams
from tests.support.graphql import GraphQLClient

SERVICE = (
    "service { id slug name description lifecycle tier tags links { title url } repositoryUrl "
    "version createdAt updatedAt owner { slug } owners { role team { slug } } "
    "dependsOn { slug } dependents { slug } }"
)


async def make_service(gql: GraphQLClient, slug: str, owner: str, **fields: Any) -> dict[str, Any]:
    payload = await gql.mutate(
        "createService", SERVICE, slug=slug, name=slug, owner=owner, **fields
    )
    assert payload["errors"] == [], payload
    service: dict[str, Any] = payload["service"]
    return service


async def test_create_service_with_everything(gql: GraphQLClient) -> None:
    await create_teams(gql, "payments")
    service = await make_service(
        gql,
        "payments-api",
        "payments",
        description="Takes money",
        lifecycle="PRODUCTION",
        tier=1,
        tags=["java", "pci"],
        links=[{"title": "Runbook", "url": "https://runbooks.example/payments"}],
        repositoryUrl="https://git.example/payments-api",
    )
    assert service["lifecycle"] == "PRODUCTION"
    assert service["tier"] == 1
    assert service["tags"] == ["java", "pci"]
    assert service["links"] == [{"title": "Runbook", "url": "https://runbooks.example/payments"}]
    assert service["owner"] == {"slug": "payments"}
    assert service["owners"] == [{"role": "PRIMARY", "team": {"slug": "payments"}}]
    assert service["version"] == 1
    assert service["createdAt"] == service["updatedAt"]
    fetched = await gql('{ service(slug: "payments-api") { id name } }')
    assert fetched["service"] == {"id": service["id"], "name": "payments-api"}


async def test_defaults_and_unknown_owner(gql: GraphQLClient) -> None:
    await create_teams(gql, "t")
    service = await make_service(gql, "plain", "t")
    assert service["lifecycle"] == "EXPERIMENTAL"
    assert (service["tier"], service["tags"], service["links"]) == (None, [], [])
    missing = await gql.mutate("createService", SERVICE, slug="x", name="x", owner="ghost")
    assert [(e["code"], e["path"]) for e in missing["errors"]] == [
        ("NOT_FOUND", ["input", "owner"])
    ]
    duplicate = await gql.mutate("createService", SERVICE, slug="plain", name="x", owner="t")
    assert duplicate["errors"][0]["code"] == "CONFLICT"


async def test_bounds_are_validation_errors_and_nothing_is_written(gql: GraphQLClient) -> None:
    await create_teams(gql, "t")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"tier": 5}, ["input", "tier"]),
        ({"name": "n" * 201}, ["input", "name"]),
        ({"description": "d" * 4001}, ["input", "description"]),
        ({"tags": [f"t{i}" for i in range(51)]}, ["input", "tags"]),
        ({"tags": ["x" * 64]}, ["input", "tags", "0"]),
        ({"links": [{"title": "t", "url": "javascript:alert(1)"}]}, ["input", "links", "0", "url"]),
        ({"repositoryUrl": "git@host:repo"}, ["input", "repositoryUrl"]),
    ]
    for fields, path in cases:
        base: dict[str, Any] = {"slug": "svc", "name": "svc", "owner": "t"}
        payload = await gql.mutate("createService", SERVICE, **(base | fields))
        assert payload["service"] is None
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [("VALIDATION", path)]
    assert (await gql("{ services { totalCount } }"))["services"]["totalCount"] == 0


async def test_update_service_and_versions(gql: GraphQLClient) -> None:
    await create_teams(gql, "t")
    created = await make_service(gql, "svc", "t", tier=2, tags=["a"])
    updated = await gql.mutate(
        "updateService", SERVICE, service="svc", expectedVersion=1, tier=None, tags=["b", "c"],
        lifecycle="DEPRECATED", description="now documented",
    )  # fmt: skip
    assert updated["errors"] == []
    service = updated["service"]
    assert (service["tier"], service["tags"], service["lifecycle"]) == (
        None,
        ["b", "c"],
        "DEPRECATED",
    )
    assert service["version"] == 2
    assert service["updatedAt"] > created["updatedAt"]
    stale = await gql.mutate("updateService", SERVICE, service="svc", expectedVersion=1, name="x")
    assert stale["errors"][0]["code"] == "CONFLICT"
    null_name = await gql.mutate("updateService", SERVICE, service="svc", name=None)
    assert [(e["code"], e["path"]) for e in null_name["errors"]] == [
        ("VALIDATION", ["input", "name"])
    ]
    assert (await gql('{ service(slug: "svc") { version name } }'))["service"] == {
        "version": 2,
        "name": "svc",
    }


async def test_owners_exactly_one_primary(gql: GraphQLClient) -> None:
    await create_teams(gql, "a", "b", "c")
    await make_service(gql, "svc", "a")
    fields = "service { version owner { slug } owners { role team { slug } } }"
    changed = await gql.mutate(
        "setServiceOwners", fields, service="svc",
        owners=[{"team": "b", "role": "PRIMARY"}, {"team": "a", "role": "CONTRIBUTOR"}],
    )  # fmt: skip
    assert changed["errors"] == []
    assert changed["service"]["owner"] == {"slug": "b"}
    assert changed["service"]["owners"] == [
        {"role": "PRIMARY", "team": {"slug": "b"}},
        {"role": "CONTRIBUTOR", "team": {"slug": "a"}},
    ]
    assert changed["service"]["version"] == 2
    for owners, code, path in [
        ([{"team": "a", "role": "CONTRIBUTOR"}], "VALIDATION", ["input", "owners"]),
        (
            [{"team": "a", "role": "PRIMARY"}, {"team": "c", "role": "PRIMARY"}],
            "VALIDATION",
            ["input", "owners"],
        ),
        (
            [{"team": "a", "role": "PRIMARY"}, {"team": "ghost", "role": "CONTRIBUTOR"}],
            "NOT_FOUND",
            ["input", "owners", "1", "team"],
        ),
    ]:
        refused = await gql.mutate("setServiceOwners", fields, service="svc", owners=owners)
        assert [(e["code"], e["path"]) for e in refused["errors"]] == [(code, path)]
    after = await gql('{ service(slug: "svc") { owner { slug } version } }')
    assert after["service"] == {"owner": {"slug": "b"}, "version": 2}


async def test_dependencies(gql: GraphQLClient) -> None:
    await create_teams(gql, "t")
    for slug in ("web", "api", "db"):
        await make_service(gql, slug, "t")
    fields = "service { version dependsOn { slug } }"
    first = await gql.mutate("addServiceDependency", fields, service="web", dependsOn="api")
    assert first["service"] == {"version": 2, "dependsOn": [{"slug": "api"}]}
    again = await gql.mutate("addServiceDependency", fields, service="web", dependsOn="api")
    assert again == {"service": {"version": 2, "dependsOn": [{"slug": "api"}]}, "errors": []}
    await gql.mutate("addServiceDependency", fields, service="web", dependsOn="db")
    await gql.mutate("addServiceDependency", fields, service="api", dependsOn="db")
    graph = await gql('{ service(slug: "db") { dependents { slug } } }')
    assert graph["service"]["dependents"] == [{"slug": "api"}, {"slug": "web"}]
    itself = await gql.mutate("addServiceDependency", fields, service="web", dependsOn="web")
    assert [(e["code"], e["path"]) for e in itself["errors"]] == [
        ("VALIDATION", ["input", "dependsOn"])
    ]
    ghost = await gql.mutate("addServiceDependency", fields, service="web", dependsOn="ghost")
    assert [(e["code"], e["path"]) for e in ghost["errors"]] == [
        ("NOT_FOUND", ["input", "dependsOn"])
    ]
    removed = await gql.mutate("removeServiceDependency", fields, service="web", dependsOn="db")
    assert removed["service"]["dependsOn"] == [{"slug": "api"}]
    absent = await gql.mutate("removeServiceDependency", fields, service="web", dependsOn="db")
    assert absent["errors"][0]["code"] == "NOT_FOUND"


async def test_delete_service_removes_ownerships_and_edges(gql: GraphQLClient) -> None:
    await create_teams(gql, "t")
    await make_service(gql, "web", "t")
    api = await make_service(gql, "api", "t")
    await gql.mutate("addServiceDependency", "service { slug }", service="web", dependsOn="api")
    deleted = await gql.mutate("deleteService", "deletedId", service="api", expectedVersion=1)
    assert deleted == {"deletedId": api["id"], "errors": []}
    web = await gql(
        '{ service(slug: "web") { dependsOn { slug } } team(slug: "t") { services { totalCount } } }'
    )
    assert web["service"]["dependsOn"] == []
    assert web["team"]["services"]["totalCount"] == 1
    gone = await gql.mutate("deleteTeam", "deletedId", team="t")
    assert gone["errors"][0]["code"] == "PRECONDITION_FAILED"
    await gql.mutate("deleteService", "deletedId", service="web")
    assert (await gql.mutate("deleteTeam", "deletedId", team="t"))["errors"] == []


async def test_environments(gql: GraphQLClient) -> None:
    fields = "environment { id slug name description tier version }"
    for slug, tier in (
        ("production", "PRODUCTION"),
        ("development", "DEVELOPMENT"),
        ("staging", "STAGING"),
    ):
        created = await gql.mutate(
            "createEnvironment", fields, slug=slug, name=slug.title(), tier=tier
        )
        assert created["errors"] == []
    listed = await gql("{ environments { totalCount nodes { slug tier } } }")
    assert [n["slug"] for n in listed["environments"]["nodes"]] == [
        "development",
        "staging",
        "production",
    ]
    duplicate = await gql.mutate(
        "createEnvironment", fields, slug="staging", name="S", tier="STAGING"
    )
    assert duplicate["errors"][0]["code"] == "CONFLICT"
    updated = await gql.mutate(
        "updateEnvironment", fields, environment="staging", expectedVersion=1, tier="TESTING"
    )
    assert updated["environment"]["tier"] == "TESTING"
    null_tier = await gql.mutate("updateEnvironment", fields, environment="staging", tier=None)
    assert null_tier["errors"][0]["path"] == ["input", "tier"]
    stale = await gql.mutate(
        "deleteEnvironment", "deletedId", environment="staging", expectedVersion=1
    )
    assert stale["errors"][0]["code"] == "CONFLICT"
    deleted = await gql.mutate(
        "deleteEnvironment", "deletedId", environment="staging", expectedVersion=2
    )
    assert deleted["errors"] == []
    assert (await gql('{ environment(slug: "staging") { slug } }'))["environment"] is None
