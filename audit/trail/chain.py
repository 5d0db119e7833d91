"""The audit trail's hash chain: each entry's hash is an HMAC, under ``AUDIT_CHAIN_KEY``, of its
canonical content and the hash of the entry before it in the same organization. A changed,
removed or inserted row breaks every link after it, and without the key nobody can compute
the links again. ``manage.py verify_audit_log`` walks the chains."""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from audit.trail.models import AuditEntry

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
    # Added with the portal's audit log: covered when set, and absent (as before) when not,
    # so the entries written before it hash as they always did.
    if getattr(entry, "customer_id", None) is not None:
        content["customer_id"] = entry.customer_id
    for name in ("organization_id", "actor_user_id", "actor_token_id", "customer_id"):
        if content.get(name) is not None:
            content[name] = str(content[name])
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


class UnknownKey(LookupError):
    """An entry names a chain key this deployment does not have (not even among the old ones)."""


def key_id(key: str) -> str:
    """A key's public name, stored on each entry so keys can be rotated: a hash of the key,
    short and useless to an attacker."""
    return hashlib.sha256(b"tenantry-audit-key-id\n" + key.encode()).hexdigest()[:12]


@cache
def _keys(current: str, retired: tuple[str, ...]) -> dict[str, bytes]:
    return {key_id(key): key.encode() for key in (*retired, current) if key}


def chain_keys() -> dict[str, bytes]:
    """Every key that may have signed an entry: the current one and the retired ones."""
    return _keys(settings.AUDIT_CHAIN_KEY, tuple(settings.AUDIT_CHAIN_OLD_KEYS))


def current_key_id() -> str:
    return key_id(settings.AUDIT_CHAIN_KEY)


def sign(key_name: str, message: bytes) -> str:
    """HMAC-SHA-256 of ``message`` under the chain key called ``key_name``."""
    key = chain_keys().get(key_name)
    if key is None:
        raise UnknownKey(key_name)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_hash(entry: Any, prev_hash: str) -> str:
    message = prev_hash.encode() + b"\n" + canonical(entry)
    if not entry.key_id:
        # Written before the chain was keyed (audit 0005): plain SHA-256, reported as such.
        return hashlib.sha256(message).hexdigest()
    return sign(entry.key_id, message)


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


def last_link(organization_id: Any) -> tuple[str, int]:
    """The newest entry's hash and sequence number ("" and 0 for an empty chain)."""
    newest = (
        AuditEntry.objects.for_chain(organization_id)
        .order_by("-id")
        .values_list("hash", "sequence")
        .first()
    )
    return (newest[0], newest[1] or 0) if newest else ("", 0)
