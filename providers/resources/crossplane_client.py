"""The crossplane provider's calls to the API server: the claims of one kind in one namespace,
through kubernetes-asyncio's `CustomObjectsApi`, over a client from
`providers/deployers/kubernetes_client.py` (`connected`: credentials read at each call, every
connection checked by the address rule) and its `api_call` (each attempt bounded by
`timeoutSeconds`, refusals told by their status only).

Every call here is idempotent and so retried as `providers/deployers/retries.py` says: a GET,
a server-side apply of the same object (`fieldManager=paved`, forced: this provider owns the
fields it sends), and a DELETE (a retry that finds nothing has nothing left to do).
"""

from __future__ import annotations

from typing import Any, Final

from kubernetes_asyncio.client import (
    ApiClient,
    CustomObjectsApi,
    V1DeleteOptions,
    V1Preconditions,
)

from domain.deployments.model import ProviderError
from providers.deployers.kubernetes_client import NotFound, api_call
from providers.deployers.retries import Backoff
from providers.resources.crossplane_claims import ClaimKind

FIELD_MANAGER: Final = "paved"
APPLY_PATCH: Final = "application/apply-patch+yaml"


class Claims:
    """One call's client for the claims of `kind` in `namespace`."""

    def __init__(
        self,
        client: ApiClient,
        kind: ClaimKind,
        namespace: str,
        *,
        within: float,
        backoff: Backoff,
    ) -> None:
        self._api = CustomObjectsApi(client)
        self._kind = kind
        self._namespace = namespace
        self._within = within
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"Claims({self._kind.kind} in {self._namespace!r})"

    async def read(self, name: str) -> dict[str, Any] | None:
        """The claim, or None when there is none."""
        what = f"GET {self._what(name)}"

        async def read() -> Any:
            return await self._api.get_namespaced_custom_object(
                *self._where(), name, _request_timeout=self._within
            )

        try:
            found = await self._call(what, read)
        except NotFound:
            return None
        return self._checked(found, what)

    async def apply(self, claim: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: creates the claim or brings the fields it sends to `claim`."""
        name = str(claim["metadata"]["name"])
        what = f"apply {self._what(name)}"

        async def send() -> Any:
            return await self._api.patch_namespaced_custom_object(
                *self._where(),
                name,
                claim,
                field_manager=FIELD_MANAGER,
                force=True,
                # The stubs omit `_content_type`, which the client takes (and needs here: it
                # would send a dict as a JSON patch).
                _content_type=APPLY_PATCH,  # type: ignore[call-arg]
                _request_timeout=self._within,
            )

        applied = await self._call(what, send)
        if applied is None:
            # 201 Created: kubernetes-asyncio reads no body of it (only of a 200), so the new
            # claim is read back.
            applied = await self.read(name)
            if applied is None:
                raise ProviderError(f"kubernetes {what}: the claim is gone after it was created")
        return self._checked(applied, what)

    async def delete(self, name: str, uid: str | None) -> bool:
        """Ask for the claim's deletion (of the claim with `uid` only, when given); False
        when there was no such claim."""
        what = f"DELETE {self._what(name)}"
        body = V1DeleteOptions(preconditions=V1Preconditions(uid=uid) if uid else None)

        async def send() -> Any:
            return await self._api.delete_namespaced_custom_object(
                *self._where(), name, body=body, _request_timeout=self._within
            )

        try:
            await self._call(what, send)
        except NotFound:
            return False
        return True

    async def _call(self, what: str, call: Any) -> Any:
        return await api_call(
            what, call, idempotent=True, within=self._within, backoff=self._backoff
        )

    def _where(self) -> tuple[str, str, str, str]:
        kind = self._kind
        return kind.group, kind.version, self._namespace, kind.plural

    def _what(self, name: str) -> str:
        return f"{self._kind.plural}.{self._kind.group} {self._namespace}/{name}"

    def _checked(self, found: Any, what: str) -> dict[str, Any]:
        if not isinstance(found, dict) or found.get("kind") != self._kind.kind:
            raise ProviderError(f"kubernetes {what}: the answer is not a {self._kind.kind}")
        return found
