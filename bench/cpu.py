"""CPU time spent by processes, read from `/proc` (Linux): a server's own, and a PostgreSQL
cluster's (the postmaster, its live backends and the backends it has reaped)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg

TICKS = os.sysconf("SC_CLK_TCK")

# Fields of /proc/<pid>/stat after the command's closing parenthesis, counted from 0.
_PARENT, _USER, _SYSTEM, _CHILDREN_USER, _CHILDREN_SYSTEM = 1, 11, 12, 13, 14


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def process_seconds(pid: int) -> float:
    """CPU seconds (user and system, every thread) the process has used."""
    fields = _stat(pid)
    return (int(fields[_USER]) + int(fields[_SYSTEM])) / TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[_PARENT]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return found


def tree_seconds(pid: int) -> float:
    """CPU seconds of the process, its live children and the children it has reaped: a
    child that ends between two readings moves from the second term to the third."""
    fields = _stat(pid)
    ticks = sum(int(fields[i]) for i in (_USER, _SYSTEM, _CHILDREN_USER, _CHILDREN_SYSTEM))
    total = ticks / TICKS
    for child in _children(pid):
        try:
            total += process_seconds(child)
        except (OSError, IndexError, ValueError):
            continue
    return total


def _parent_of(pid: int) -> int | None:
    try:
        parent = int(_stat(pid)[_PARENT])
        _stat(parent)
    except (OSError, IndexError, ValueError):
        return None
    return parent


async def _postmaster(dsn: str) -> int | None:
    connection = await asyncpg.connect(dsn)
    try:
        backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
        return _parent_of(backend)  # while the backend lives: once it ends it is no one's
    finally:
        await connection.close()


def postmaster_pid(dsn: str) -> int | None:
    """The PostgreSQL server's own process, when it runs on this machine (None otherwise)."""
    return asyncio.run(_postmaster(dsn))
