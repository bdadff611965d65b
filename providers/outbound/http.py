"""An httpx transport that connects only where `providers/outbound/addresses.py` allows.

Each request's host is resolved once, here, every address checked by the rule, and the request
sent to a checked address (the next one if connecting fails), with the name kept for the
`Host` header and for TLS (SNI and the certificate check, through httpx's `sni_hostname`
extension). Nothing resolves the name again after the check, so DNS rebinding cannot slip a
refused address in. A refused host raises `RefusedAddress`; a name that does not resolve
raises `httpx.ConnectError`, as httpx itself would. Proxies from the environment are not used
(a proxy would resolve the name itself).

A request sent while a span is current (tracing on, `api/observability/tracing.py`) carries
that span's W3C trace context (`traceparent`, `tracestate`) to the receiver; with tracing off
no span is ever current and nothing is added.
"""

from __future__ import annotations

import functools
import ssl

import httpx2 as httpx
from opentelemetry import propagate, trace

from providers.outbound.addresses import AddressRule

_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once per process: loading them takes tens of
    milliseconds, and an adapter makes a transport per provider call."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


class CheckedTransport(httpx.AsyncBaseTransport):
    def __init__(self, rule: AddressRule, *, verify: bool = True) -> None:
        self._rule = rule
        self._inner = httpx.AsyncHTTPTransport(
            verify=_verifying_context() if verify else False, trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if trace.get_current_span().get_span_context().is_valid:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            request.headers.update(carrier)
        url = request.url
        host = url.raw_host.decode("ascii")
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
        try:
            addresses = await self._rule.addresses(host, port)
        except OSError as error:
            raise httpx.ConnectError(f"{host} does not resolve", request=request) from error
        failure: httpx.ConnectError | None = None
        for address in addresses:
            request.url = url.copy_with(host=str(address))
            request.extensions = {**request.extensions, "sni_hostname": host}
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as error:
                failure = error
            finally:
                request.url = url
        assert failure is not None  # `addresses()` found at least one
        raise failure

    async def aclose(self) -> None:
        await self._inner.aclose()
