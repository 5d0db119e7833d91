"""DNS lookups for domain verification: the TXT records at a name, through dnspython, and a
failure said in plain words. Tests point ``DNS_NAMESERVERS`` at a DNS server on loopback."""

from __future__ import annotations

import dns.exception
import dns.name
import dns.resolver
from django.conf import settings


class LookupFailed(Exception):
    """The lookup itself failed (no answer in time, a server error): the record may exist."""


def _resolver() -> dns.resolver.Resolver:
    servers: list[str] = list(settings.DNS_NAMESERVERS)
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [server.rpartition(":")[0] or server for server in servers]
        ports = {int(server.rpartition(":")[2]) for server in servers if ":" in server}
        if ports:
            resolver.port = ports.pop()
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
