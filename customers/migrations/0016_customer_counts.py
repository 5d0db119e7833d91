"""Customer counts per organization and status, kept exact by triggers on both backends.

The triggers count every insert, delete and change of status or organization, whatever made
it (services, the admin, seed_demo's bulk_create, the bench's COPY), in the same transaction.
An UPDATE that leaves both alone (any other edit) touches no count. The counts of customers
already there are taken once, here."""

import django.db.models.deletion
from django.db import migrations, models


COUNT_TABLE = "customers_customercount"

POSTGRES_FORWARD = f"""
CREATE OR REPLACE FUNCTION customer_count_keep() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {COUNT_TABLE} SET n = n - 1
        WHERE organization_id = OLD.organization_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {COUNT_TABLE} (organization_id, status, n)
        VALUES (NEW.organization_id, NEW.status, 1)
        ON CONFLICT (organization_id, status) DO UPDATE SET n = {COUNT_TABLE}.n + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER customer_count_insert_delete AFTER INSERT OR DELETE ON customers_customer
    FOR EACH ROW EXECUTE FUNCTION customer_count_keep();
CREATE TRIGGER customer_count_update AFTER UPDATE OF status, organization_id ON customers_customer
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION customer_count_keep();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS customer_count_insert_delete ON customers_customer;
DROP TRIGGER IF EXISTS customer_count_update ON customers_customer;
DROP FUNCTION IF EXISTS customer_count_keep();
"""

_ADD_NEW = f"""INSERT INTO {COUNT_TABLE} (organization_id, status, n)
    VALUES (NEW.organization_id, NEW.status, 1)
    ON CONFLICT (organization_id, status) DO UPDATE SET n = n + 1;"""
_REMOVE_OLD = f"""UPDATE {COUNT_TABLE} SET n = n - 1
    WHERE organization_id = OLD.organization_id AND status = OLD.status;"""

SQLITE_FORWARD = [
    f"CREATE TRIGGER customer_count_insert AFTER INSERT ON customers_customer BEGIN {_ADD_NEW} END",
    f"CREATE TRIGGER customer_count_delete AFTER DELETE ON customers_customer "
    f"BEGIN {_REMOVE_OLD} END",
    "CREATE TRIGGER customer_count_update AFTER UPDATE OF status, organization_id "
    "ON customers_customer WHEN OLD.status IS NOT NEW.status "
    f"OR OLD.organization_id IS NOT NEW.organization_id BEGIN {_REMOVE_OLD} {_ADD_NEW} END",
]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS customer_count_{name}" for name in ("insert", "delete", "update")
]

COUNT_EXISTING = f"""
INSERT INTO {COUNT_TABLE} (organization_id, status, n)
SELECT organization_id, status, COUNT(*) FROM customers_customer GROUP BY organization_id, status
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)
    schema_editor.execute(COUNT_EXISTING, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_usage_alerts"),
        ("customers", "0015_audit_retention_and_reads"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending_admin_activation", "Pending Admin Activation"),
                            ("active", "Active"),
                            ("suspended", "Suspended"),
                            ("deleted", "Deleted"),
                        ],
                        max_length=32,
                    ),
                ),
                ("n", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("status", "deleted"), _negated=True),
                fields=["organization", "name", "id"],
                name="customer_org_live_name",
            ),
        ),
        migrations.AddField(
            model_name="customercount",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="customercount",
            constraint=models.UniqueConstraint(
                fields=("organization", "status"), name="customercount_unique"
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
