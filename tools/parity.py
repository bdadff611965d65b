"""Every mutation, every face: which of GraphiQL, the `paved` CLI, the portal and the MCP
endpoint offers each mutation of the schema. The README's table is written from it.

    python -m tools.parity            print the table
    python -m tools.parity --write    rewrite the README's table (`make parity`)
    python -m tools.parity --check    exit 1 when the README's table is not the one printed,
                                      or when the CLI's registry below disagrees with the code

Where each face's answer comes from:
- the schema: the Mutation fields of the committed `schema/schema.graphql`;
- GraphiQL: every mutation (it sends any document);
- the CLI: the mutation fields called by the GraphQL documents of the `cli` package (every
  module's module-level strings that parse as documents holding a mutation), named by the
  command `CLI_COMMANDS` says sends them. The registry is checked against the code both ways
  (`problems`): a listed mutation no document sends, a sent mutation not listed, and a listed
  command `paved` does not have are all problems;
- the portal: the mutation fields named in the mutation documents of `portal/static/js`;
- MCP: `api.mcp_tools.MCP_MUTATIONS`, the mutations its tools send (none while it is absent).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLError, OperationDefinitionNode, OperationType, build_schema, parse
from graphql.language import FieldNode

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "schema.graphql"
README = ROOT / "README.md"
PORTAL_JS = ROOT / "portal" / "static" / "js"
START = "<!-- parity:start (make parity writes this table) -->"
END = "<!-- parity:end -->"

CLI_COMMANDS: dict[str, str] = {
    "createTeam": "paved teams create",
    "updateTeam": "paved teams update",
    "deleteTeam": "paved teams delete",
    "createUser": "paved users create",
    "updateUser": "paved users update",
    "addTeamMember": "paved teams add-member",
    "removeTeamMember": "paved teams remove-member",
    "createService": "paved services create",
    "updateService": "paved services update",
    "deleteService": "paved services delete",
    "setServiceOwners": "paved services owners",
    "addServiceDependency": "paved services depend",
    "removeServiceDependency": "paved services undepend",
    "createEnvironment": "paved envs create",
    "updateEnvironment": "paved envs update",
    "deleteEnvironment": "paved envs delete",
    "freezeEnvironment": "paved envs freeze",
    "unfreezeEnvironment": "paved envs unfreeze",
    "deploy": "paved deploy",
    "promote": "paved promote",
    "rollback": "paved rollback",
    "cancelDeployment": "paved cancel",
    "approveDeployment": "paved approve",
    "rejectDeployment": "paved reject",
    "requestResource": "paved resources request",
    "deleteResource": "paved resources delete",
    "createServiceFromTemplate": "paved new",
    "recordDeployment": "paved deployments record",
    "reportDeploymentStatus": "paved deployments report",
    "createWebhook": "paved webhooks create",
    "updateWebhook": "paved webhooks update",
    "deleteWebhook": "paved webhooks delete",
    "rotateWebhookSecret": "paved webhooks rotate-secret",
    "pingWebhook": "paved webhooks ping",
    "redeliverWebhookDelivery": "paved webhooks redeliver",
    "createResourceClass": "paved resource-classes create",
    "updateResourceClass": "paved resource-classes update",
    "deleteResourceClass": "paved resource-classes delete",
    "updateResource": "paved resources update",
    "approveResource": "paved resources approve",
    "rejectResource": "paved resources reject",
    "reportResourceStatus": "paved resources report",
    "createTemplate": "paved templates create",
    "updateTemplate": "paved templates update",
    "deleteTemplate": "paved templates delete",
    "createApiClient": "paved clients create",
    "deleteApiClient": "paved clients delete",
    "createApiToken": "paved tokens create",
    "revokeApiToken": "paved tokens revoke",
    "importCatalog": "paved import backstage",
}
"""Which `paved` command sends each mutation (checked against the code by `problems`)."""


@dataclass(frozen=True, slots=True)
class Row:
    mutation: str
    cli: str | None
    portal: bool
    mcp: bool


def schema_mutations(sdl: str | None = None) -> list[str]:
    """The Mutation fields of the schema, in its order."""
    schema = build_schema(SCHEMA.read_text() if sdl is None else sdl)
    assert schema.mutation_type is not None
    return list(schema.mutation_type.fields)


def mutation_fields(document: str) -> set[str]:
    """The root fields of the mutations in `document` (none if it does not parse)."""
    try:
        parsed = parse(document)
    except GraphQLError:
        return set()
    return {
        selection.name.value
        for definition in parsed.definitions
        if isinstance(definition, OperationDefinitionNode)
        and definition.operation == OperationType.MUTATION
        for selection in definition.selection_set.selections
        if isinstance(selection, FieldNode)
    }


def cli_documents() -> dict[str, set[str]]:
    """Each mutation the `cli` package's documents send, and the modules sending it."""
    import cli

    sent: dict[str, set[str]] = {}
    for module_info in pkgutil.iter_modules(cli.__path__, "cli."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, str) and "mutation" in value:
                for field in mutation_fields(value):
                    sent.setdefault(field, set()).add(module_info.name)
    return sent


_MUTATION_DOCUMENT = re.compile(r"[`'\"]\s*mutation\b[^`]*?`", re.DOTALL)


def portal_mutations(mutations: Iterable[str], folder: Path = PORTAL_JS) -> set[str]:
    """The mutations named as a field (`name(`) in the portal's mutation documents."""
    names = set(mutations)
    found: set[str] = set()
    for script in sorted(folder.rglob("*.js")):
        for document in _MUTATION_DOCUMENT.findall(script.read_text()):
            found |= names & set(re.findall(r"\b(\w+)\s*\(", document))
    return found


def mcp_mutations() -> frozenset[str]:
    """The mutations the MCP endpoint's tools send (none until `api.mcp_tools` exists)."""
    try:
        module = importlib.import_module("api.mcp_tools")
    except ImportError:
        return frozenset()
    return frozenset(getattr(module, "MCP_MUTATIONS", ()))


@functools.cache
def _command_tree() -> object:
    """`paved`'s commands, as click builds them from the Typer app."""
    import typer

    from cli import main

    return typer.main.get_command(main.typer_app())


def command_exists(command: str) -> bool:
    """Whether `paved` has `command` ("paved noun verb"), a command and not a group."""
    group: object = _command_tree()
    for word in command.split()[1:]:
        commands = getattr(group, "commands", None)
        if commands is None or word not in commands:
            return False
        group = commands[word]
    return getattr(group, "commands", None) is None


def rows() -> list[Row]:
    mutations = schema_mutations()
    sent = cli_documents()
    portal = portal_mutations(mutations)
    mcp = mcp_mutations()
    return [
        Row(
            mutation,
            CLI_COMMANDS.get(mutation) if mutation in sent else None,
            mutation in portal,
            mutation in mcp,
        )
        for mutation in mutations
    ]


def problems(registry: Mapping[str, str] = CLI_COMMANDS) -> list[str]:
    """Where the CLI registry and the code disagree."""
    mutations = set(schema_mutations())
    sent = cli_documents()
    found: list[str] = []
    for mutation, command in registry.items():
        if mutation not in mutations:
            found.append(f"{mutation} ({command}) is not a mutation of the schema")
        elif mutation not in sent:
            found.append(f"{mutation}: no document of the cli package sends it ({command})")
        if not command_exists(command):
            found.append(f"{mutation}: `{command}` is not a command of paved")
    for mutation, modules in sorted(sent.items()):
        if mutation not in registry:
            found.append(
                f"{mutation} is sent by {', '.join(sorted(modules))} but CLI_COMMANDS "
                "does not name its command"
            )
    return found


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def table(found: Iterable[Row] | None = None) -> str:
    lines = [
        "| mutation | GraphiQL | CLI | portal | MCP |",
        "|---|---|---|---|---|",
    ]
    for row in rows() if found is None else found:
        cli = f"`{row.cli}`" if row.cli else "no"
        lines.append(f"| `{row.mutation}` | yes | {cli} | {_yes(row.portal)} | {_yes(row.mcp)} |")
    return "\n".join(lines) + "\n"


def readme_table(text: str) -> str | None:
    """The table between the README's markers (None without them)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start + len(START) : end].strip("\n") + "\n"


def write_readme(current: str) -> None:
    text = README.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{README}: no {START} ... {END} markers")
    README.write_text(text[: start + len(START)] + "\n" + current + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.parity", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the README's table")
    action.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)
    current = table()
    if args.write:
        write_readme(current)
        return 0
    if args.check:
        stale = [f"parity: {problem}" for problem in problems()]
        if readme_table(README.read_text()) != current:
            stale.append("parity: the README's table is out of date: run `make parity`")
        for line in stale:
            print(line, file=sys.stderr)
        return 1 if stale else 0
    sys.stdout.write(current)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
