"""Where webhooks may go: public HTTP(S) addresses only, unless DEBUG or WEBHOOKS_ALLOW_PRIVATE.

A destination is resolved and refused if any address it resolves to is private, loopback,
link-local (cloud metadata at 169.254.169.254 included), multicast, reserved or unspecified.
Checked when an endpoint is saved and again before every delivery (DNS can change)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeDestination(ValueError):
    pass


# IPv6 prefixes whose last 32 bits are an IPv4 address a packet may end up at: IPv4-compatible
# (::/96, deprecated but still parsed), IPv4-mapped, SIIT's IPv4-translated (RFC 6145) and
# NAT64's well-known prefix (RFC 6052). Each is judged by the IPv4 address it carries.
_LAST_32_BITS_ARE_IPV4 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Refused whole: NAT64's local-use prefix (RFC 8215) translates to the operator's own network,
# and site-local (fec0::/10) is deprecated but still routed inside some networks.
_NEVER = tuple(ipaddress.ip_network(prefix) for prefix in ("64:ff9b:1::/48", "fec0::/10"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address this IPv6 address carries: its last 32 bits under the prefixes
    above, 6to4's (2002::/16) and both of Teredo's (2001::/32)."""
    carried: list[ipaddress.IPv4Address] = []
    if any(ip in prefix for prefix in _LAST_32_BITS_ARE_IPV4):
        carried.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        carried.append(ip.sixtofour)
    carried.extend(ip.teredo or ())
    return carried


def blocked(address: str) -> bool:
    """Anything but a global unicast address: private, shared (100.64/10, where some clouds
    keep metadata), loopback, link-local, reserved, multicast; and every IPv6 address that
    carries such an IPv4 address, however it is spelled."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in prefix for prefix in _NEVER):
            return True
        if any(blocked(str(inner)) for inner in _embedded_ipv4(ip)):
            return True
    return not ip.is_global or ip.is_multicast


def _private_allowed(allow_private: bool | None) -> bool:
    """Webhooks follow WEBHOOKS_ALLOW_PRIVATE; audit log streams say their own setting."""
    return settings.WEBHOOKS_ALLOW_PRIVATE if allow_private is None else allow_private


def check_destination(url: str, *, allow_private: bool | None = None) -> None:
    """When an endpoint is saved: raises UnsafeDestination, with a message for the person who
    typed the URL. (Nothing is resolved when private addresses are allowed.)"""
    _scheme_and_host(url)
    if not _private_allowed(allow_private):
        resolve_allowed(url, allow_private=allow_private)


def _scheme_and_host(url: str) -> Any:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise UnsafeDestination("That is not a URL we can send to.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("Use an http:// or https:// URL.")
    return parts


def resolve_allowed(url: str, *, allow_private: bool | None = None) -> str:
    """Before each delivery: the address to connect to, once it is known to be allowed.
    Delivery connects to exactly this address, so a name cannot resolve to a public address
    when checked and to a private one when connected (DNS rebinding)."""
    parts = _scheme_and_host(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise UnsafeDestination(f"“{parts.hostname}” does not resolve.") from None
    if not _private_allowed(allow_private) and any(blocked(str(info[4][0])) for info in infos):
        raise UnsafeDestination(
            f"“{parts.hostname}” is a private, loopback or link-local address: only public "
            "addresses are allowed."
        )
    return str(infos[0][4][0])
