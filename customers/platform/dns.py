"""DNS lookups for domain verification: the TXT records at a name, through dnspython, and a
failure said in plain words. Tests point ``DNS_NAMESERVERS`` at a DNS server on loopback."""

from __future__ import annotations

import ipaddress

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class LookupFailed(Exception):
    """The lookup itself failed (no answer in time, a server error): the record may exist."""


def nameserver(setting: str) -> dns.nameserver.Do53Nameserver:
    """One DNS_NAMESERVERS entry: "192.0.2.1", "192.0.2.1:5353", "2001:db8::1" or
    "[2001:db8::1]:5353"; anything else is ImproperlyConfigured (a start-up check says so)."""
    host, port = setting, "53"
    if setting.startswith("["):
        host, closed, rest = setting[1:].partition("]")
        host = host if closed else ""
        port = rest.removeprefix(":") or "53"
    elif setting.count(":") == 1:
        host, port = setting.split(":")
    try:
        return dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(host)), int(port))
    except ValueError:
        raise ImproperlyConfigured(
            f"DNS_NAMESERVERS: {setting!r} is not an address, or an address and a port."
        ) from None


def _resolver() -> dns.resolver.Resolver:
    servers: list[str] = list(settings.DNS_NAMESERVERS)
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [nameserver(server) for server in servers]
    resolver.lifetime = settings.DNS_TIMEOUT_SECONDS
    resolver.timeout = settings.DNS_TIMEOUT_SECONDS
    return resolver


def txt_records(name: str) -> list[str]:
    """Every TXT string published at ``name`` (joined per record, as RFC 7208 reads them); an
    empty list when the name or its TXT records do not exist."""
    try:
        answer = _resolver().resolve(dns.name.from_text(name), "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.resolver.LifetimeTimeout:
        raise LookupFailed(
            f"No DNS server answered for {name} within {settings.DNS_TIMEOUT_SECONDS:g} s."
        ) from None
    except dns.resolver.NoNameservers:
        raise LookupFailed(f"The DNS servers for {name} refused or failed the lookup.") from None
    except dns.exception.DNSException as error:
        raise LookupFailed(f"The DNS lookup for {name} failed: {error}.") from None
    return [b"".join(record.strings).decode("utf-8", errors="replace") for record in answer]
