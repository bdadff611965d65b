"""axe-core in the page: `assert_accessible(page)` fails on serious or critical violations.

axe is vendored (`tests/browser/vendor/axe.min.js`, MPL-2.0, see VENDORED.md) and evaluated
through the DevTools protocol, which the page's Content-Security-Policy does not apply to:
pages keep their strict policy while they are checked."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})
_SHOWN_NODES = 5


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(
    page: Page, *, within: str | None = None, skip_rules: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (or within the element `within` selects),
    every impact; `skip_rules` are axe rule ids not run (say why where you pass them)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    options = {
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in skip_rules},
    }
    found: list[dict[str, Any]] = page.evaluate(
        "([context, options]) => window.axe.run(context || document, options)"
        ".then(results => results.violations)",
        [within, options],
    )
    return found


def assert_accessible(
    page: Page, *, within: str | None = None, skip_rules: Iterable[str] = ()
) -> None:
    """Fail when axe finds a serious or critical violation, listing each with the elements
    at fault."""
    failing = [
        violation
        for violation in violations(page, within=within, skip_rules=skip_rules)
        if violation.get("impact") in FAILING_IMPACTS
    ]
    assert not failing, "accessibility violations:\n" + "\n".join(map(describe, failing))


def describe(violation: dict[str, Any]) -> str:
    nodes = violation.get("nodes", [])
    targets = [" ".join(map(str, node.get("target", []))) for node in nodes[:_SHOWN_NODES]]
    more = f" and {len(nodes) - _SHOWN_NODES} more" if len(nodes) > _SHOWN_NODES else ""
    return (
        f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')}\n"
        f"  {violation.get('helpUrl', '')}\n"
        f"  at {', '.join(targets)}{more}"
    )
