"""How `paved` commands print: Rich tables fitted to the terminal on stdout, and `UserError`s
(as `Refused`) one line each on stderr."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.api_client import Refused, error_line
from cli.framework import ExitCode


def console() -> Console:
    """stdout, as wide as the terminal (80 columns when it is not one); no colour when it is
    not a terminal or NO_COLOR is set."""
    return Console(highlight=False, soft_wrap=False)


def show_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """`rows` under `columns`; None shows as "-". Long cells wrap within the terminal's width."""
    table = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    console().print(table)


def show_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """One entity as `name: value` lines, the names aligned."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name, value in fields:
        table.add_row(name, "-" if value is None else str(value))
    console().print(table)


def refuse_on_errors(payload: dict[str, Any]) -> None:
    """Raise `Refused` (exit 1, one `paved: CODE: message (path)` line each) when a mutation
    payload carries `errors`."""
    errors = payload.get("errors") or []
    if errors:
        raise Refused(ExitCode.REFUSED, *(error_line(error) for error in errors))
