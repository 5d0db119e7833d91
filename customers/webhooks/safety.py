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
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_destination(url: str) -> None:
    """When an endpoint is saved: raises UnsafeDestination, with a message for the person who
    typed the URL. (Nothing is resolved when private addresses are allowed.)"""
    _scheme_and_host(url)
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        resolve_allowed(url)


def _scheme_and_host(url: str) -> Any:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("Use an http:// or https:// URL.")
    return parts


def resolve_allowed(url: str) -> str:
    """Before each delivery: the address to connect to, once it is known to be allowed.
    Delivery connects to exactly this address, so a name cannot resolve to a public address
    when checked and to a private one when connected (DNS rebinding)."""
    parts = _scheme_and_host(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise UnsafeDestination(f"“{parts.hostname}” does not resolve.") from None
    if not settings.WEBHOOKS_ALLOW_PRIVATE and any(_blocked(info[4][0]) for info in infos):
        raise UnsafeDestination(
            f"“{parts.hostname}” is a private, loopback or link-local address: webhooks go "
            "only to public addresses."
        )
    return infos[0][4][0]
