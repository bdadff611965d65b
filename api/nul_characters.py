"""PostgreSQL text cannot hold U+0000, so a request carrying one is refused up front, with a
clear message, instead of failing deep in a statement."""

from __future__ import annotations

import re
from typing import Any

# `\u0000` and the braced form `\u{0}` of the GraphQL string grammar, or a raw NUL.
_NUL_IN_DOCUMENT = re.compile(r"\\u(?:0000|\{0+\})|\x00")

MESSAGE = "strings must not contain the NUL character (U+0000)"


def carries_nul(query: str, variables: Any) -> bool:
    return _NUL_IN_DOCUMENT.search(query) is not None or _nul_in_value(variables)


def _nul_in_value(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in_value(key) or _nul_in_value(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_nul_in_value(item) for item in value)
    return False
