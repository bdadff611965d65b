"""`INTERNAL` is reserved for bugs: a test during which any in-process app answered a request
with `INTERNAL` fails, unless it is marked `@pytest.mark.allows_internal` (it provokes one on
purpose).

Every `GraphQLEndpoint` built during the session (the shared app, apps a test starts or
serves, the browser tests' apps) is watched: the endpoint counts the answers it wrote with
`INTERNAL` (`internal_count`, the request ids in `internal_answers`), and the count must not
grow across a test. Servers run as other processes (`paved serve`) are not watched here."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from api.graphql_http import GraphQLEndpoint

MARKER = "allows_internal"

_endpoints: weakref.WeakSet[GraphQLEndpoint] = weakref.WeakSet()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test provokes an INTERNAL answer on purpose")
    original = GraphQLEndpoint.__init__

    def watched(self: GraphQLEndpoint, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _endpoints.add(self)

    GraphQLEndpoint.__init__ = watched  # type: ignore[method-assign]


def _counts() -> dict[int, tuple[GraphQLEndpoint, int]]:
    return {id(endpoint): (endpoint, endpoint.internal_count) for endpoint in list(_endpoints)}


@pytest.fixture(autouse=True)
def no_internal_answers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up first and torn down last: the apps this test started have stopped by then."""
    before = _counts()
    yield
    if request.node.get_closest_marker(MARKER) is not None:
        return
    answered: list[str] = []
    for key, (endpoint, count) in _counts().items():
        earlier = before.get(key, (endpoint, 0))[1]
        if count > earlier:
            answered.extend(list(endpoint.internal_answers)[-(count - earlier) :])
    if answered:
        pytest.fail(
            f"{len(answered)} answer(s) carried INTERNAL (request ids {answered[:5]}); "
            f"INTERNAL is for bugs: fix the cause, or mark the test @pytest.mark.{MARKER} "
            "if it provokes one on purpose",
            pytrace=False,
        )
