"""Each audit entry's number within its organization (1, 2, 3 …), for log streams' receivers.
Existing entries are numbered in id order. The table refuses UPDATE (append-only triggers), so
this one statement runs with them set aside, as the owner, and they are put back at once; the
chain's hashes do not cover the number, so every entry verifies as before."""

from django.db import migrations, models

NUMBER = """
UPDATE audit_auditentry SET sequence = numbered.n
FROM (
    SELECT id, row_number() OVER (PARTITION BY organization_id ORDER BY id) AS n
    FROM audit_auditentry
) AS numbered
WHERE audit_auditentry.id = numbered.id
"""


def number_existing(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        schema_editor.execute(NUMBER)
        schema_editor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_auditentry'"
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        cursor.execute(NUMBER)
        for _, sql in triggers:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_entry_customer")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="sequence",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
    ]
