"""Trigram indexes for the Customers search on PostgreSQL.

The list searches with ``icontains``, which PostgreSQL's backend compiles to
``UPPER(col::text) LIKE UPPER(%s)``; a trigram index on the bare column is never used for it,
so each index is built on exactly that expression. SQLite has nothing to gain and gets none.

``fastupdate = off``: customers are written rarely and searched often, so every insert goes
straight into the index instead of a pending list that each search would have to scan.
"""

from django.db import migrations

COLUMNS = ("name", "slug", "external_id", "admin_email")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm ON customers_customer "
            f"USING gin (UPPER({column}::text) gin_trgm_ops) WITH (fastupdate = off)",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS customer_{column}_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
