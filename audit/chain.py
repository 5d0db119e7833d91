"""The audit trail's hash chain: each entry's hash covers its canonical content and the hash of
the entry before it in the same organization, so a changed, removed or inserted row breaks
every link after it. ``manage.py verify_audit_log`` walks the chains."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from typing import Any

from django.db import connection

from audit.models import AuditEntry

FIELDS = (
    "organization_id",
    "created_at",
    "actor_type",
    "actor_user_id",
    "actor_token_id",
    "actor_label",
    "action",
    "resource_type",
    "resource_id",
    "resource_label",
    "outcome",
    "changes",
    "message",
    "ip_address",
    "user_agent",
    "request_id",
)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def canonical(entry: Any) -> bytes:
    content = {name: _plain(getattr(entry, name)) for name in FIELDS}
    if content["organization_id"] is not None:
        content["organization_id"] = str(content["organization_id"])
    for name in ("actor_user_id", "actor_token_id"):
        if content[name] is not None:
            content[name] = str(content[name])
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: Any, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(entry)).hexdigest()


def lock_chain(organization_id: Any) -> None:
    """Serialize writers of one organization's chain until the transaction ends, so two
    concurrent entries cannot both claim the same predecessor (a fork).

    PostgreSQL: a transaction-scoped advisory lock per organization. SQLite: transactions are
    IMMEDIATE, so the writer already holds the database's write lock.
    """
    if connection.vendor == "postgresql":
        # One bigint key: a fixed namespace in the high bits, the organization's CRC-32 below.
        key = (0x7E4A << 32) | zlib.crc32(str(organization_id or "-").encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [key])


def last_hash(organization_id: Any) -> str:
    entries = (
        AuditEntry.objects.for_organization(organization_id)
        if organization_id
        else AuditEntry.objects.unscoped().filter(organization__isnull=True)
    )
    return entries.order_by("-id").values_list("hash", flat=True).first() or ""


def broken_links(
    organization_id: Any = None, *, all_chains: bool = False
) -> Iterator[tuple[Any, int, str]]:
    """(organization id, entry id, what is wrong) for the first broken link of each chain."""
    chains = (
        AuditEntry.objects.unscoped()
        .order_by()
        .values_list("organization_id", flat=True)
        .distinct()
        if all_chains
        else [organization_id]
    )
    for chain in chains:
        entries = AuditEntry.objects.unscoped().filter(organization_id=chain).order_by("id")
        previous = ""
        for entry in entries.iterator(chunk_size=2000):
            if entry.prev_hash != previous:
                yield chain, entry.pk, "its link to the previous entry does not match"
                break
            if entry.hash != entry_hash(entry, previous):
                yield chain, entry.pk, "its content does not match its hash"
                break
            previous = entry.hash
