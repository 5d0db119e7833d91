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


def _blocked(address: str) -> bool:
    """Anything but a global unicast address: private, shared (100.64/10, where some clouds
    keep metadata), loopback, link-local, reserved, multicast; and IPv6 forms that carry such
    an IPv4 address (mapped, 6to4, Teredo)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if any(inner is not None and _blocked(str(inner)) for inner in embedded):
            return True
        if ip.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
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
    if not _private_allowed(allow_private) and any(_blocked(info[4][0]) for info in infos):
        raise UnsafeDestination(
            f"“{parts.hostname}” is a private, loopback or link-local address: only public "
            "addresses are allowed."
        )
    return infos[0][4][0]
