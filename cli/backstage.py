"""`paved import backstage` and `paved export backstage`: the catalog in and out as Backstage
`catalog-info.yaml` files, through the API (`importCatalog`, and paged queries).

Import reads the files and folders given (folders: every `.yaml`/`.yml` file under them, named
by their path inside the folder; a file: by its own name), follows the Locations among them to
local files next to them (never outside the folder or file's own directory, never over the
network), and sends them all in one `importCatalog`: one transaction. Exit 1 when the API
refuses the import or any entity FAILED (each listed on stderr).

Export writes `DIR/catalog-info.yaml` (a Location listing the team folders) and
`DIR/<team>/catalog-info.yaml` for each team; importing them again changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from cli.api_client import Api, Refused
from cli.framework import ApiUrlOption, ClientCall, ExitCode, JsonOption, print_json, usage_error
from cli.output import refuse_on_errors, show_table
from domain.catalog.backstage.export import ServiceEntry, TeamEntry, UserEntry, export_catalog
from domain.catalog.backstage.mapping import location_targets
from domain.catalog.services import Lifecycle, Link

IMPORT = """
mutation Import($input: ImportCatalogInput!) {
  importCatalog(input: $input) {
    results {
      entityRef kind action location slug notes
      errors { code message path }
    }
    summary { created updated unchanged skipped failed deleted }
    errors { code message path }
  }
}
"""

_PAGE = 100
TEAMS = """
query ExportTeams($after: String) {
  teams(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { slug name description parent { slug } }
  }
}
"""
USERS = """
query ExportUsers($after: String) {
  users(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { handle name email teams { slug } }
  }
}
"""
SERVICES = """
query ExportServices($after: String) {
  services(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      slug name description lifecycle tags links { title url } repositoryUrl system
      owner { slug } dependsOn { slug }
    }
  }
}
"""

_SUFFIXES = (".yaml", ".yml")

import_app = typer.Typer(
    help="Load the catalog from files.",
    no_args_is_help=True,
    epilog="Example: paved import backstage ./catalog --dry-run",
)
export_app = typer.Typer(
    help="Write the catalog to files.",
    no_args_is_help=True,
    epilog="Example: paved export backstage ./catalog",
)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")


def _readable(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise usage_error(f"cannot read {path}: {error}") from None


def read_files(paths: list[Path]) -> list[dict[str, str]]:
    """The documents to import: (name, content) of every file given or found, and of the
    local files their Locations name."""
    documents: dict[str, str] = {}
    roots: dict[str, Path] = {}
    pending: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
            pending += [(p.relative_to(path).as_posix(), path) for p in found]
        elif path.is_file():
            pending.append((path.name, path.parent))
        else:
            raise usage_error(f"no such file or folder: {path}")
    while pending:
        name, root = pending.pop(0)
        if name in documents:
            if roots[name] != root:
                raise usage_error(f"two files are named {name} (in {roots[name]} and {root})")
            continue
        documents[name], roots[name] = _readable(root / name), root
        for target in location_targets(name, documents[name]):
            local = root / target
            inside = (
                not PurePosixPath(target).is_absolute() and ".." not in PurePosixPath(target).parts
            )
            if inside and target not in documents and local.is_file():
                pending.append((target, root))
    return [{"name": name, "content": content} for name, content in documents.items()]


PathsArgument = Annotated[
    list[Path],
    typer.Argument(help="catalog-info.yaml files, or folders of them", metavar="FILE_OR_DIR"),
]


@import_app.command(
    "backstage",
    epilog="Example: paved import backstage ./catalog --dry-run",
)
def import_backstage(
    paths: PathsArgument,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would change; write nothing")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="delete what earlier imports made and these files no longer hold"
        ),
    ] = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Import Backstage catalog-info.yaml files: teams, users and services, in one transaction."""
    documents = read_files(paths)
    if not documents:
        raise usage_error("no .yaml files found")

    async def work(api: Api) -> int:
        data = await api(
            IMPORT,
            input={
                "format": "BACKSTAGE",
                "documents": documents,
                "dryRun": dry_run,
                "prune": prune,
            },
        )
        payload: dict[str, Any] = data["importCatalog"]
        if json:
            print_json(data)
        refuse_on_errors(payload)
        results = payload["results"]
        if not json:
            show_table(
                ["ACTION", "KIND", "ENTITY", "SLUG", "LOCATION", "DETAIL"],
                [
                    [r["action"], r["kind"], r["entityRef"], r["slug"], r["location"], _detail(r)]
                    for r in results
                ],
            )
            summary = payload["summary"]
            done = ", ".join(f"{count} {name}" for name, count in summary.items())
            typer.echo(f"{'dry run: ' if dry_run else ''}{done}")
        failed = [r for r in results if r["action"] == "FAILED"]
        if failed:
            raise Refused(
                ExitCode.REFUSED,
                *(
                    f"paved: FAILED {r['entityRef'] or '-'} ({r['location']}): {_errors(r)}"
                    for r in failed
                ),
            )
        return 0

    return ClientCall(work, api_url)


def _errors(result: dict[str, Any]) -> str:
    return "; ".join(f"{e['code']}: {e['message']}" for e in result["errors"])


def _detail(result: dict[str, Any]) -> str:
    return "; ".join([*(e["message"] for e in result["errors"]), *result["notes"]])


async def _all(api: Api, query: str, field: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = (await api(query, after=after))[field]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _slug_of(value: dict[str, Any] | None) -> str | None:
    return value["slug"] if value else None


async def read_catalog(api: Api) -> dict[str, str]:
    """The catalog through the API, as the files `export_catalog` writes."""
    teams = [
        TeamEntry(t["slug"], t["name"], t["description"], _slug_of(t["parent"]))
        for t in await _all(api, TEAMS, "teams")
    ]
    users = [
        UserEntry(u["handle"], u["name"], u["email"], tuple(t["slug"] for t in u["teams"]))
        for u in await _all(api, USERS, "users")
    ]
    services = [
        ServiceEntry(
            slug=s["slug"],
            name=s["name"],
            description=s["description"],
            lifecycle=Lifecycle(s["lifecycle"]),
            tags=tuple(s["tags"]),
            links=tuple(Link(title=link["title"], url=link["url"]) for link in s["links"]),
            repository_url=s["repositoryUrl"],
            system=s["system"],
            owner=_slug_of(s["owner"]),
            depends_on=tuple(d["slug"] for d in s["dependsOn"]),
        )
        for s in await _all(api, SERVICES, "services")
    ]
    return export_catalog(teams, users, services)


@export_app.command("backstage", epilog="Example: paved export backstage ./catalog")
def export_backstage(
    directory: Annotated[Path, typer.Argument(help="the folder to write into", metavar="DIR")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Export the catalog as Backstage catalog-info.yaml files (one per team folder)."""
    if directory.exists() and not directory.is_dir():
        raise usage_error(f"{directory} is not a folder")

    async def work(api: Api) -> int:
        files = await read_catalog(api)
        for name, text in files.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if json:
            print_json({"files": sorted(files)})
        else:
            sys.stdout.write(f"wrote {len(files)} files to {directory}\n")
        return 0

    return ClientCall(work, api_url)
