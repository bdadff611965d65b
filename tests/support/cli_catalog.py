"""Fixtures of the tests of `paved`'s noun commands: the whole command (`cli.main.run`) in the
test's event loop, over the in-process app, without the developer's URL or token."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from cli import main
from tests.support.cli import Paved


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, the commands start without a URL or token."""
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)


@pytest.fixture
def catalog_paved(
    app: Starlette, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> Paved:
    """`paved ...`, any command; `client` empties the catalog and checks both read paths."""
    return Paved(app, capsys, main.run)
