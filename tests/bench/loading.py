"""Loading scale data with COPY: customers, executions, events and a valid audit chain."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from audit.devtools.demo import customer_values, event_values, execution_values
from audit.models import AuditEntry, Event, Execution, Workflow
from audit.trail.chain import current_key_id, entry_hash
from billing.models import Plan
from customers.models import Customer, Membership, Organization, User
from customers.services import membership_add, organization_create
from tests.bench.common import BenchError, Output

EXECUTION_COLUMNS = [
    "organization_id",
    "customer_id",
    "workflow_id",
    "triggered_by",
    "status",
    "started_at",
    "finished_at",
    "duration_ms",
    "error",
]
EVENT_COLUMNS = [
    "organization_id",
    "customer_id",
    "type",
    "direction",
    "name",
    "status",
    "occurred_at",
    "payload_summary",
]


class Loading:
    stdout: Output

    def progress(self, label: str, done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        sys.stderr.write(f"\r  {label:<12} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def copy(self, table: str, columns: list[str], rows: Any, total: int, label: str) -> None:
        with connection.cursor() as cursor:
            raw = cursor.connection.cursor()
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for n, row in enumerate(rows, 1):
                    copy.write_row(row)
                    if n % 50_000 == 0 or n == total:
                        self.progress(label, n, total)

    def load(self, size: dict[str, int]) -> None:
        self.stdout.write("Loading scale data…")
        self.owner = User.objects.filter(email="bench@tenantry.test").first()
        if self.owner is not None:
            raise BenchError("The bench database is not empty: `make bench` recreates it.")
        self.owner = User.objects.create_user(
            email="bench@tenantry.test", password=None, is_staff=True, is_superuser=True
        )
        self.orgs = [
            organization_create(name=name, owner=self.owner)
            for name in ("Bench Acme", "Bench Globex")
        ]
        for org in self.orgs:
            membership_add(organization=org, user=self.owner, role=Membership.Role.OWNER)
        now = timezone.now()
        per_org: dict[Any, list[uuid.UUID]] = {}
        fields = list(Customer._meta.concrete_fields)
        plans = {o.pk: list(Plan.objects.for_organization(o)) for o in self.orgs}

        def customers():
            for n in range(size["customers"]):
                org = self.orgs[n % 2]
                pk = uuid.uuid4()
                per_org.setdefault(org.pk, []).append(pk)
                values = customer_values(
                    n, organization_id=org.pk, plan=plans[org.pk][n % 4], now=now
                )
                values["id"] = pk
                yield [values.get(f.attname, f.get_default()) for f in fields]

        columns = [f.column for f in fields]
        self.copy(Customer._meta.db_table, columns, customers(), size["customers"], "customers")
        self.customer_ids = per_org
        workflows = {
            o.pk: [Workflow.objects.create(organization=o, name=f"Workflow {i}") for i in range(8)]
            for o in self.orgs
        }
        rnd = self.random

        def executions():
            for _ in range(size["executions"]):
                org = self.orgs[rnd.random() < 0.5]
                values = execution_values(
                    rnd,
                    organization_id=org.pk,
                    customer_id=rnd.choice(per_org[org.pk]),
                    workflow_id=rnd.choice(workflows[org.pk]).pk,
                    now=now,
                )
                yield [values[column] for column in EXECUTION_COLUMNS]

        self.copy(
            Execution._meta.db_table,
            EXECUTION_COLUMNS,
            executions(),
            size["executions"],
            "executions",
        )

        def events():
            for _ in range(size["events"]):
                org = self.orgs[rnd.random() < 0.5]
                values = event_values(
                    rnd, organization_id=org.pk, customer_id=rnd.choice(per_org[org.pk]), now=now
                )
                yield [values[column] for column in EVENT_COLUMNS]

        self.copy(Event._meta.db_table, EVENT_COLUMNS, events(), size["events"], "events")
        self.load_audit(size["audit"], now)
        with connection.cursor() as cursor:
            # As autovacuum would by now: statistics, and the visibility map that index-only
            # scans (the list pages' counts) rely on.
            cursor.execute("VACUUM ANALYZE")

    def reload(self, size: dict[str, int]) -> None:
        """The data a previous run loaded (``--reuse``), its sizes as they are now."""
        self.owner = User.objects.filter(email="bench@tenantry.test").first()
        if self.owner is None:
            raise BenchError("Nothing to reuse: run `make bench` once without REUSE.")
        self.orgs = list(
            Organization.objects.filter(name__in=("Bench Acme", "Bench Globex")).order_by("name")
        )
        size["customers"] = sum(Customer.objects.for_organization(o).count() for o in self.orgs)

    def load_audit(self, total: int, now: datetime) -> None:
        """Audit entries with a valid hash chain, oldest first, so verification still holds."""
        columns = [
            "organization_id",
            "created_at",
            "actor_type",
            "actor_user_id",
            "actor_label",
            "action",
            "resource_type",
            "resource_id",
            "resource_label",
            "outcome",
            "changes",
            "message",
            "user_agent",
            "request_id",
            "key_id",
            "prev_hash",
            "hash",
            "sequence",
        ]
        signing_key = current_key_id()
        last = {
            o.pk: AuditEntry.objects.for_organization(o)
            .order_by("-id")
            .values_list("hash", flat=True)
            .first()
            or ""
            for o in self.orgs
        }
        numbers = {o.pk: AuditEntry.objects.for_organization(o).count() for o in self.orgs}
        actions = [
            "customer.updated",
            "customer.suspended",
            "limit.changed",
            "invite.sent",
            "login.succeeded",
            "connection.revoked",
        ]
        start = now - timedelta(days=30)
        step = timedelta(days=30) / max(total, 1)

        def rows():
            for n in range(total):
                org = self.orgs[n % 2]
                entry = AuditEntry(
                    organization_id=org.pk,
                    created_at=start + step * n,
                    actor_type="user",
                    actor_user_id=self.owner.pk,
                    actor_label=self.owner.email,
                    action=actions[n % len(actions)],
                    resource_type="customer",
                    resource_id=str(self.customer_ids[org.pk][n % 1000]),
                    resource_label=f"Customer {n % 1000}",
                    outcome="success",
                    changes={"billing_ref": ["", f"PO-{n}"]},
                    message="",
                    user_agent="bench",
                    request_id=f"bench-{n}",
                )
                entry.key_id = signing_key
                entry.prev_hash = last[org.pk]
                entry.hash = last[org.pk] = entry_hash(entry, entry.prev_hash)
                numbers[org.pk] += 1
                yield [
                    org.pk,
                    entry.created_at,
                    "user",
                    self.owner.pk,
                    entry.actor_label,
                    entry.action,
                    "customer",
                    entry.resource_id,
                    entry.resource_label,
                    "success",
                    json.dumps(entry.changes),
                    "",
                    "bench",
                    entry.request_id,
                    signing_key,
                    entry.prev_hash,
                    entry.hash,
                    numbers[org.pk],
                ]

        self.copy(AuditEntry._meta.db_table, columns, rows(), total, "audit entries")
