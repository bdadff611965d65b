"""`make bench-import`: how long `importCatalog` takes on a large Backstage catalog.

Generates 500 Groups (a hierarchy: 10 roots, the rest under them), 2,000 Users (each in one
or two groups) and 5,000 Components (an owner, tags, a link, a system, a repository
annotation, up to three dependencies each), as one `catalog-info.yaml` per group folder like
`paved export backstage` writes, and sends them to the app (in-process over ASGI, the whole
HTTP and GraphQL path) on an empty database:

1. the first import (everything CREATED);
2. the same files again (everything UNCHANGED: no write statement);
3. a dry run of a changed catalog (10% of the components edited);
4. that changed catalog imported;
5. `paved export backstage` of the result (paged queries through the API).

Prints one line per step; the numbers of a run are in bench/IMPORT.md. Not a test: nothing
here asserts a time. Options: `--components`, `--groups`, `--users`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import yaml

from api.app import create_app
from api.settings import Settings
from bench.database import BenchDatabase
from providers.postgres.migrations import apply_migrations

log = logging.getLogger("bench")

IMPORT = """
mutation($input: ImportCatalogInput!) {
  importCatalog(input: $input) {
    results { action }
    summary { created updated unchanged skipped failed deleted }
    errors { code message }
  }
}
"""


def catalog(groups: int, users: int, components: int, seed: int = 7) -> dict[str, list[Any]]:
    """Folder name -> the entities of its catalog-info.yaml."""
    rng = random.Random(seed)
    names = [f"team-{i:04d}" for i in range(groups)]
    folders: dict[str, list[Any]] = {}
    for i, name in enumerate(names):
        spec: dict[str, Any] = {"type": "team", "profile": {"displayName": f"Team {i}"}}
        if i >= 10:
            spec["parent"] = names[rng.randrange(0, min(i, 100))]
        spec["children"] = []
        folders[name] = [
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Group",
                "metadata": {"name": name, "description": f"Group number {i}"},
                "spec": spec,
            }
        ]
    for i in range(users):
        teams = sorted(set(rng.sample(names, rng.choice((1, 2)))))
        folders[teams[0]].append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "User",
                "metadata": {"name": f"user.{i:05d}"},
                "spec": {
                    "profile": {"displayName": f"User {i}", "email": f"user{i}@example.com"},
                    "memberOf": teams,
                },
            }
        )
    for i in range(components):
        owner = names[rng.randrange(groups)]
        depends = sorted(
            {f"component:svc-{rng.randrange(components):05d}" for _ in range(rng.randrange(4))}
        )
        depends = [d for d in depends if d != f"component:svc-{i:05d}"]
        folders[owner].append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "name": f"svc-{i:05d}",
                    "title": f"Service {i}",
                    "description": f"Does thing number {i}",
                    "tags": ["generated", f"t{i % 17}"],
                    "links": [{"url": f"https://docs.example.com/svc-{i}", "title": "Docs"}],
                    "annotations": {"github.com/project-slug": f"acme/svc-{i:05d}"},
                },
                "spec": {
                    "type": "service",
                    "lifecycle": rng.choice(("production", "experimental", "deprecated")),
                    "owner": f"group:{owner}",
                    "system": f"system-{i % 40}",
                    "dependsOn": depends,
                },
            }
        )
    return folders


def documents(folders: dict[str, list[Any]]) -> list[dict[str, str]]:
    return [
        {
            "name": f"{folder}/catalog-info.yaml",
            "content": yaml.safe_dump_all(entities, sort_keys=False),
        }
        for folder, entities in folders.items()
    ]


def changed(folders: dict[str, list[Any]], share: float = 0.1) -> dict[str, list[Any]]:
    rng = random.Random(11)
    out: dict[str, list[Any]] = {}
    for folder, entities in folders.items():
        out[folder] = []
        for entity in entities:
            edited = entity
            if entity["kind"] == "Component" and rng.random() < share:
                edited = {**entity, "metadata": {**entity["metadata"], "title": "Renamed"}}
            out[folder].append(edited)
    return out


async def _reset(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await apply_migrations(connection)
    finally:
        await connection.close()


async def _timed(label: str, work: Any) -> Any:
    started = time.perf_counter()
    result = await work
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:7.2f} s", flush=True)
    return result


async def run(dsn: str, args: argparse.Namespace) -> None:
    await _reset(dsn)
    settings = Settings(
        database_url=dsn, demo=False, max_body_bytes=100_000_000, webhook_delivery=False
    )
    folders = catalog(args.groups, args.users, args.components)
    files = documents(folders)
    size = sum(len(f["content"]) for f in files)
    print(
        f"catalog: {args.groups} groups, {args.users} users, {args.components} components; "
        f"{len(files)} files, {size / 1e6:.1f} MB of YAML"
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost", timeout=600
        ) as client,
    ):

        async def send(docs: list[dict[str, str]], **options: Any) -> dict[str, Any]:
            body = {"format": "BACKSTAGE", "documents": docs, **options}
            response = await client.post(
                "/graphql", json={"query": IMPORT, "variables": {"input": body}}
            )
            answer = response.json()
            if "data" not in answer:
                raise SystemExit(f"HTTP {response.status_code}: {answer}")
            payload: dict[str, Any] = answer["data"]["importCatalog"]
            assert payload["errors"] == [], payload["errors"]
            return payload

        first = await _timed("1. first import (all CREATED)", send(files))
        print("   ", first["summary"])
        again = await _timed("2. same files again (all UNCHANGED)", send(files))
        print("   ", again["summary"])
        edited = documents(changed(folders))
        preview = await _timed("3. dry run, 10% of components edited", send(edited, dryRun=True))
        print("   ", preview["summary"])
        applied = await _timed("4. that edit imported", send(edited))
        print("   ", applied["summary"])

        from cli.api_client import Api
        from cli.backstage import read_catalog

        exported = await _timed(
            "5. export through the API (paged)", read_catalog(Api(client, "/graphql"))
        )
        with tempfile.TemporaryDirectory() as out:
            for name, text in exported.items():
                (Path(out) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(out) / name).write_text(text)
        print(f"    {len(exported)} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    database = BenchDatabase(Path(__file__).parent / ".work" / "import")
    try:
        dsn = database.start()
        asyncio.run(run(dsn, args))
    finally:
        database.stop()


if __name__ == "__main__":
    main()
