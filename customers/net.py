"""The client's address, as far as our own proxies vouch for it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _normalise(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or with ``TRUSTED_PROXY_COUNT = n`` the n-th address from the right of
    X-Forwarded-For: each of our n proxies appends the peer it saw, so anything further left
    was written by the client and can be forged."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return _normalise(forwarded[-hops])
    return _normalise(remote)
