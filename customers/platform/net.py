"""Addresses: the client's, as far as our own proxies vouch for it; allow-lists; local paths."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

CONTROL_IN_URL = re.compile(r"[\x00-\x1f\x7f\s]")


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


def parse_ip_allow_list(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks from a comma-separated allow-list; ValidationError naming each bad entry."""
    networks, problems = [], []
    for raw in (part.strip() for part in (value or "").replace("\n", ",").split(",")):
        if not raw:
            continue
        try:
            network = ipaddress.ip_network(raw, strict=True)
        except ValueError as error:
            if "has host bits set" in str(error):
                problems.append(
                    f"“{raw}” has host bits set; did you mean "
                    f"{ipaddress.ip_network(raw, strict=False)}?"
                )
            else:
                problems.append(
                    f"“{raw}” is not an IPv4/IPv6 address or CIDR range (no leading zeros)."
                )
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
            mapped = network.network_address.ipv4_mapped
            prefix = max(network.prefixlen - 96, 0)
            network = ipaddress.ip_network(f"{mapped}/{prefix}", strict=False)
        networks.append(network)
    if problems:
        raise ValidationError(problems)
    return networks


def normalise_ip_allow_list(value: str) -> str:
    return ", ".join(str(network) for network in parse_ip_allow_list(value))


def ip_allowed(address: str | None, allow_list: str) -> bool:
    """An empty list allows everyone; otherwise the address must be inside one entry."""
    networks = parse_ip_allow_list(allow_list)
    if not networks:
        return True
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in networks)


def local_path(url: str) -> str | None:
    """``url`` if it is a path on this site ("/settings/…"), else None: never another host, a
    scheme such as javascript:, a protocol-relative "//host" or a bare view name."""
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return None
    if CONTROL_IN_URL.search(url) or not url_has_allowed_host_and_scheme(url, allowed_hosts=set()):
        return None
    return url
