"""What verify mode forgives a test that polls a deployment while its rollout moves it."""

from __future__ import annotations

import json
from typing import Any

from cli.deployment_documents import DEPLOYMENT_STATE
from reads.verification import Disagreement

_MOMENT = frozenset({"state", "rawStatus", "statusMessage"})


def a_state_poll_in_flight(disagreement: Disagreement) -> bool:
    """`--wait` (or `--follow` without a stream) polls a deployment while the runner moves it:
    the fast path and the executor, reading one after the other, may see two moments of it.
    Only that is forgiven: the answers differ in nothing but the state and its words."""
    if disagreement.query != DEPLOYMENT_STATE:
        return False

    def rest(body: bytes) -> dict[str, Any]:
        node: dict[str, Any] = json.loads(body)["data"]["node"]
        return {key: value for key, value in node.items() if key not in _MOMENT}

    return rest(disagreement.fast) == rest(disagreement.reference)
