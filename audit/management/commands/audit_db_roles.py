"""`manage.py audit_db_roles --app-role NAME`: the grants that let the app's PostgreSQL role
do its work but never change, remove or truncate an audit entry. Run as the owner role (the
one that runs migrations), after every migrate; prints the SQL, or runs it with --execute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.maintenance import TABLE


def grants(app_role: str) -> list[str]:
    role = connection.ops.quote_name(app_role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # Tables that later migrations make get the same, from the role that runs them.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The audit trail: read and append, nothing else (its triggers refuse the rest too).
        f"REVOKE ALL ON {TABLE} FROM {role}",
        f"GRANT SELECT, INSERT ON {TABLE} TO {role}",
    ]


class Command(BaseCommand):
    help = "Grant the app's PostgreSQL role what it needs, and only INSERT/SELECT on the audit log."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--app-role", required=True, help="The role the app connects as.")
        parser.add_argument(
            "--execute", action="store_true", help="Run the grants (as the owner role)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are a PostgreSQL setup; SQLite has none.")
        statements = grants(options["app_role"])
        if not options["execute"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [options["app_role"]]
            )
            row = cursor.fetchone()
            if row is None:
                raise CommandError(f"There is no role {options['app_role']!r}.")
            if row[0]:
                raise CommandError("The app's role is a superuser: privileges would not bind it.")
            for sql in statements:
                cursor.execute(sql)
        self.stdout.write(self.style.SUCCESS(f"Granted {options['app_role']} its privileges."))
