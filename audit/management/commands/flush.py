"""`manage.py flush`, Django's own, except that the audit table is emptied by the maintenance
path (audit.maintenance): the database refuses to empty it any other way. Django's test
runner flushes the database after each transactional test."""

from __future__ import annotations

from typing import Any

from django.core.management.color import no_style
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections

from audit.maintenance import owner_cursor


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if options["interactive"]:
            answer = input(
                f"Remove ALL data, audit entries included, from {connection.settings_dict['NAME']}?"
                " Type 'yes' to continue: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        statements = connection.ops.sql_flush(
            no_style(),
            tables,
            reset_sequences=options.get("reset_sequences", True),
            allow_cascade=options.get("allow_cascade", False),
        )
        with owner_cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        if not options.get("inhibit_post_migrate", False):
            emit_post_migrate_signal(options["verbosity"], options["interactive"], database)
