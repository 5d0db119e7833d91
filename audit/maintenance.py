"""The one way audit entries are ever removed (the archive, a test database's flush): in one
transaction, as the audit table's owner, with its refusal triggers off for that transaction.

Nothing a session can SET opens this path. On PostgreSQL it takes the table's owner
(``ALTER TABLE … DISABLE TRIGGER`` is the owner's right), and the app's role is not the owner
when deployed as docs/audit-trail.md says: ``DATABASE_OWNER_URL`` names the owner role, and
its user and password are used on the app's own database. On SQLite the triggers are dropped
and made again inside the transaction (SQLite has no roles: whoever can write the file can do
this too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction

from audit.trail.models import AuditEntry

TABLE = "audit_auditentry"


def owner_settings() -> dict[str, Any] | None:
    """The owner role's credentials on the app's database, when they are configured."""
    owner = settings.DATABASE_OWNER
    if not owner or connection.vendor != "postgresql":
        return None
    app = connection.settings_dict
    return {
        "dbname": app["NAME"],
        "user": owner["USER"],
        "password": owner.get("PASSWORD") or None,
        "host": owner.get("HOST") or app["HOST"],
        "port": owner.get("PORT") or app["PORT"],
    }


@contextmanager
def _postgres_owner_cursor() -> Iterator[Any]:
    params = owner_settings()
    if params is None:  # the app's role owns the table (a development database)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            yield cursor
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
        return
    with psycopg.connect(**params) as owner, owner.transaction(), owner.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        yield cursor
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")


@contextmanager
def _sqlite_cursor() -> Iterator[Any]:
    with transaction.atomic(), connection.cursor() as cursor:
        # Made again from their own definitions (audit 0005), exactly as they were.
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [TABLE],
        )
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        yield cursor
        for _name, sql in triggers:
            cursor.execute(sql)


@contextmanager
def owner_cursor() -> Iterator[Any]:
    """A cursor that may remove audit entries, until the block ends (then the triggers are
    back, in the same transaction: nobody else ever sees them off)."""
    manager = _postgres_owner_cursor if connection.vendor == "postgresql" else _sqlite_cursor
    with manager() as cursor:
        yield cursor


def remove_through(organization_id: Any, through_id: int) -> int:
    """Remove one organization's entries up to ``through_id`` (an archived segment)."""
    field = AuditEntry._meta.get_field("organization")
    with owner_cursor() as cursor:
        if organization_id is None:
            cursor.execute(
                "DELETE FROM audit_auditentry WHERE organization_id IS NULL AND id <= %s",
                [through_id],
            )
        else:
            key = field.get_db_prep_value(organization_id, connection)
            cursor.execute(
                "DELETE FROM audit_auditentry WHERE organization_id = %s AND id <= %s",
                [key, through_id],
            )
        return cursor.rowcount


def remove_all() -> None:
    """Empty the table: only for a test database's flush (audit.management.commands.flush)."""
    with owner_cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
