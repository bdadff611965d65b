"""What identifies one action on a resource, for the adapters that must tell a repeat of a
call from a new action: the parameters in canonical JSON, and a digest of them with the
action's start."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from domain.resources.model import ProvisionRequest


def canonical_json(value: Any) -> str:
    """`value` as JSON with sorted keys and no spaces: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parameters_json(parameters: Mapping[str, Any]) -> str:
    return canonical_json(dict(parameters))


def action_digest(request: ProvisionRequest) -> str:
    """16 hex digits of SHA-256 over the parameters and `started_at`: the same for every
    repeat of one action, different for a later action with other parameters or another
    start (so going back to earlier parameters is a new action)."""
    started_at = request.started_at.isoformat() if request.started_at is not None else None
    text = canonical_json({"parameters": dict(request.parameters), "startedAt": started_at})
    return hashlib.sha256(text.encode()).hexdigest()[:16]
