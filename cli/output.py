"""How `paved` commands print: Rich tables fitted to the terminal on stdout, and `UserError`s
(as `Refused`) one line each on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from cli.api_client import Refused, error_line
from cli.framework import ExitCode

UNWRAPPED_WIDTH = 100_000
"""The width of output that is no terminal (a pipe, a file): every row on one line, for grep,
awk and the like."""


def console() -> Console:
    """stdout, as wide as the terminal; no colour when it is not a terminal or NO_COLOR is set.
    When it is no terminal, lines are not wrapped at all. Text is shown as it is (no markup)."""
    shown = Console(highlight=False, soft_wrap=False, markup=False, emoji=False)
    if not shown.is_terminal:
        shown.width = UNWRAPPED_WIDTH
    return shown


def _cell(value: Any) -> Text:
    return Text("-" if value is None else str(value))


def show_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    indent: int = 0,
) -> None:
    """`rows` under `columns`, `indent` spaces in; None shows as "-". Long cells wrap within
    the terminal's width."""
    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(_cell(cell) for cell in row))
    _print(Padding(table, (0, 0, 0, indent), expand=False) if indent else table)


def _print(renderable: RenderableType) -> None:
    """On the terminal as Rich draws it; elsewhere without the spaces that end its lines."""
    shown = console()
    if shown.is_terminal:
        shown.print(renderable)
        return
    with shown.capture() as captured:
        shown.print(renderable)
    lines = captured.get().splitlines()
    sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))
    sys.stdout.flush()


def show_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """One entity as `name: value` lines, the names aligned."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name, value in fields:
        table.add_row(Text(name), _cell(value))
    _print(table)


def refuse_on_errors(payload: dict[str, Any]) -> None:
    """Raise `Refused` (exit 1, one `paved: CODE: message (path)` line each) when a mutation
    payload carries `errors`."""
    errors = payload.get("errors") or []
    if errors:
        raise Refused(ExitCode.REFUSED, *(error_line(error) for error in errors))
