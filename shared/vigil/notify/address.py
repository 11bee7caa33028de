"""Where a destination may be: the address check against server-side request forgery.

A destination's URL comes from its secret, and whoever can write that secret (or
the DNS of its host) could otherwise point the notifier, with its network access
inside the account, at the instance metadata service (169.254.169.254), a
database in the VPC or a service on loopback, and read its answer back through
the dead-letter queue. So a destination must be ``https://`` and every address
its host resolves to must be public, unless the destination sets
``allow_private: true``.

``public_addresses`` resolves a host once and judges every address; the caller
connects to one of those very addresses (no second lookup a rebinding DNS
server could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from vigil.notify.base import DeliveryError

IPAddress = IPv4Address | IPv6Address

# Checked in order: the first network an address is in names why it is refused.
_V4_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # 255.255.255.255 (broadcast) included
    )
)
_V6_RANGES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fe80::/10", "link-local"),
        ("fc00::/7", "unique-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 addresses that carry an IPv4 address in their last 32 bits (NAT64): judged by it.
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public address (``"loopback"``, ...); ``None`` if it is.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``,
    NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:...``) is judged by the IPv4 address
    it reaches. Anything else not globally routable (documentation, benchmarking
    and other special-purpose ranges) is refused as ``"not globally routable"``.
    """
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded)
        ranges: tuple[tuple[IPv4Network | IPv6Network, str], ...] = _V6_RANGES
    else:
        ranges = _V4_RANGES
    for network, reason in ranges:
        if address in network:
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def public_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, once; all must be public.

    ``host`` is a name (ASCII, IDNA-encoded) or an IP literal. Raises a permanent
    ``DeliveryError`` naming the first refused address's kind (never the host or
    the address: the URL is a credential), and a transient one when the name
    cannot be resolved now.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise DeliveryError(
                f"the destination's host name could not be resolved ({type(exc).__name__})",
                permanent=False,
            ) from None
        addresses = []
        for _family, _type, _proto, _name, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise DeliveryError(
                "the destination's host name resolved to no address", permanent=False
            )
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise DeliveryError(
                f"destination address is not public ({reason}); "
                "set allow_private: true to allow it",
                permanent=True,
            )
    return addresses
