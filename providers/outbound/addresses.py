"""Which addresses the server may connect to when a setting names where to connect (SSRF rules).

One rule for every outgoing connection that a setting chooses (deployment providers today,
outgoing webhooks tomorrow), applied twice: when the setting is saved (`check_url()` on the
URL as written, then `check_resolved()` on what its name resolves to now) and when connecting
(`addresses()`: the name resolved again, every address checked, and the connection made to a
checked address, so a name that rebinds to 127.0.0.1 after it was saved is refused then).

Always refused: cloud metadata services (169.254.169.254, fd00:ec2::254, 100.100.100.200,
168.63.129.16, `metadata.google.internal`...). Refused unless `allow_private`: loopback,
unspecified, link-local, multicast, private (RFC 1918, unique local), reserved and any other
address that is not globally routable (shared 100.64.0.0/10, documentation ranges...), and the
name `localhost` (and `*.localhost`). An IPv4 address inside an IPv6 one (IPv4-mapped
`::ffff:a.b.c.d`, IPv4-compatible, 6to4, Teredo, NAT64 `64:ff9b::/96`) is judged as itself.

Messages name the host and the class of address, never the address a name resolved to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, OpenStack...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public address)
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS DNS over IPv6
    )
)
_METADATA_NAMES: Final = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


class RefusedAddress(ValueError):
    """A host the rule refuses; the message names it and why, and is safe to show."""


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the rule refuses `address` (`"a loopback address"`...), or None."""
    for judged in (address, *_embedded_ipv4(address)):
        if judged in _METADATA_ADDRESSES:
            return "a cloud metadata address"
    if allow_private:
        return None
    for judged in (*_embedded_ipv4(address), address):
        reason = _non_public(judged)
        if reason is not None:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class AddressRule:
    allow_private: bool = False
    """Private, loopback and other non-public addresses are allowed (metadata never is)."""
    setting: str = "PAVED_PROVIDER_ALLOW_PRIVATE"
    """The setting that allows them, named in refusals."""

    def check_url(self, url: str) -> None:
        """`RefusedAddress` when the URL's host is refused as written: a literal address or
        a refused name. Names that resolve are judged by `check_resolved()` / `addresses()`."""
        self.check_host(urlsplit(url).hostname or "")

    def check_host(self, host: str) -> None:
        name = host.lower().rstrip(".")
        if name in _METADATA_NAMES:
            raise RefusedAddress(f"{host} is a cloud metadata service")
        if not self.allow_private and (name == "localhost" or name.endswith(".localhost")):
            raise RefusedAddress(f"{host} is a loopback name" + _hint("", self.setting))
        literal = _literal(name)
        if literal is not None:
            reason = refusal(literal, allow_private=self.allow_private)
            if reason is not None:
                raise RefusedAddress(f"{host} is {reason}" + _hint(reason, self.setting))

    async def addresses(self, host: str, port: int, family: int = 0) -> list[IPAddress]:
        """Every address `host` resolves to now, each one checked: `RefusedAddress` if the
        host or any of them is refused, `OSError` when it does not resolve."""
        self.check_host(host)
        literal = _literal(host.lower().rstrip("."))
        if literal is not None:
            return [literal]
        found = await _lookup(host, port, family)
        for address in found:
            reason = refusal(address, allow_private=self.allow_private)
            if reason is not None:
                raise RefusedAddress(f"{host} resolves to {reason}" + _hint(reason, self.setting))
        if not found:
            raise OSError(f"{host} resolves to no address")
        return found

    async def check_resolved(self, url: str, *, within: float) -> None:
        """When a setting is saved: `check_url()`, then the name's addresses now. A name that
        does not resolve (or not `within` seconds) passes: connecting checks it again."""
        self.check_url(url)
        host = urlsplit(url).hostname or ""
        try:
            async with asyncio.timeout(within):
                await self.addresses(host, 0)
        except (OSError, TimeoutError):
            return


def _hint(reason: str, setting: str) -> str:
    return "" if reason == "a cloud metadata address" else f" (allowed only with {setting}=true)"


async def _lookup(host: str, port: int, family: int) -> list[IPAddress]:
    """The event loop's resolver (the one connections use), addresses in its order."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    except UnicodeError:  # a name IDNA cannot encode
        raise OSError(f"{host} is not a resolvable name") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return tuple(found)


def _non_public(address: IPAddress) -> str | None:
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "an address that is not publicly routable"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None
