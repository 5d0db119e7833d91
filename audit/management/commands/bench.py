"""``make bench``: measured speed at production scale (the benchmark issue, SPEC §9).

Runs against its own PostgreSQL database (its name must contain "bench"; ``make bench``
creates it). Loads scale data with COPY, then measures every list page against the Django
admin changelist of the same data and the page's own main SQL (EXPLAIN ANALYZE), and finally
ingestion throughput through gunicorn. Prints a markdown table; writes JSON to var/bench/.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.chain import entry_hash
from audit.models import AuditEntry, Event, Execution, Workflow
from billing.models import Plan
from billing.services import override_set, usage_for
from customers.models import Customer, Membership, User
from customers.services import api_token_create, membership_add, organization_create

SIZES = {
    "default": {
        "customers": 100_000,
        "executions": 1_000_000,
        "events": 1_000_000,
        "audit": 1_000_000,
        "requests": 30,
        "ingest_seconds": 10,
    },
    "quick": {
        "customers": 2_000,
        "executions": 20_000,
        "events": 20_000,
        "audit": 20_000,
        "requests": 5,
        "ingest_seconds": 2,
    },
}
TRIGGERS = ["agent-service", "webhook", "scheduler", "manual"]


class Command(BaseCommand):
    help = "Load scale data into the bench database and measure pages, admin, SQL, ingestion."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quick", action="store_true", help="A small run (CI uses it).")
        for name in ("customers", "executions", "events", "audit", "requests"):
            parser.add_argument(f"--{name}", type=int)
        parser.add_argument("--ingest-seconds", type=int)
        parser.add_argument("--port", type=int, default=8779)

    def handle(self, *args: Any, **options: Any) -> None:
        if (
            connection.vendor != "postgresql"
            or "bench" not in settings.DATABASES["default"]["NAME"]
        ):
            raise CommandError(
                "Run it through `make bench`: it needs its own PostgreSQL "
                "database whose name contains 'bench'."
            )
        size = dict(SIZES["quick" if options["quick"] else "default"])
        for key in size:
            if options.get(key) is not None:
                size[key] = options[key]
        self.size = size
        self.random = random.Random(7)
        started = time.perf_counter()
        self.load(size)
        load_seconds = time.perf_counter() - started
        pages = self.measure_pages(size["requests"])
        ingestion = self.measure_ingestion(options["port"], size["ingest_seconds"])
        report = {
            "when": timezone.now().isoformat(),
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "postgres": connection.cursor().connection.info.server_version,
            },
            "sizes": size,
            "load_seconds": round(load_seconds, 1),
            "pages": pages,
            "ingestion": ingestion,
        }
        self.print_report(report)
        out = Path(settings.BASE_DIR) / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"bench-{timezone.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        self.stdout.write(f"\nJSON: {path}")

    # --- data -------------------------------------------------------------------------------

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
            raise CommandError("The bench database is not empty: `make bench` recreates it.")
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
        statuses = ["active"] * 6 + ["pending_admin_activation"] * 3 + ["suspended"]
        fields = list(Customer._meta.concrete_fields)
        columns = [f.column for f in fields]
        plans = {o.pk: list(Plan.objects.for_organization(o)) for o in self.orgs}

        def customers():
            for n in range(size["customers"]):
                org = self.orgs[n % 2]
                plan = plans[org.pk][n % 4]
                pk = uuid.uuid4()
                per_org.setdefault(org.pk, []).append(pk)
                values = {
                    "id": pk,
                    "organization_id": org.pk,
                    "name": f"Customer {n:06d}",
                    "slug": f"customer-{n:06d}",
                    "external_id": f"ext_{n:07d}",
                    "status": statuses[n % len(statuses)],
                    "plan_id": plan.pk,
                    "admin_email": f"admin{n}@customer{n}.test",
                    "created_at": now - timedelta(minutes=n),
                    "updated_at": now,
                    **plan.entitlements(),
                }
                yield [values.get(f.attname, f.get_default()) for f in fields]

        self.copy(Customer._meta.db_table, columns, customers(), size["customers"], "customers")
        self.customer_ids = per_org
        workflows = {
            o.pk: [Workflow.objects.create(organization=o, name=f"Workflow {i}") for i in range(8)]
            for o in self.orgs
        }
        rnd = self.random
        span = 30 * 86400

        def executions():
            for _ in range(size["executions"]):
                org = self.orgs[rnd.random() < 0.5]
                started = now - timedelta(seconds=rnd.randint(0, span))
                status = "failed" if rnd.random() < 0.1 else "succeeded"
                yield [
                    org.pk,
                    rnd.choice(per_org[org.pk]),
                    rnd.choice(workflows[org.pk]).pk,
                    rnd.choice(TRIGGERS),
                    status,
                    started,
                    started + timedelta(seconds=2),
                    2000,
                    "upstream 502" if status == "failed" else "",
                ]

        self.copy(
            Execution._meta.db_table,
            [
                "organization_id",
                "customer_id",
                "workflow_id",
                "triggered_by",
                "status",
                "started_at",
                "finished_at",
                "duration_ms",
                "error",
            ],
            executions(),
            size["executions"],
            "executions",
        )

        def events():
            for _ in range(size["events"]):
                org = self.orgs[rnd.random() < 0.5]
                yield [
                    org.pk,
                    rnd.choice(per_org[org.pk]),
                    rnd.choice(["webhook", "webhook", "scheduled", "manual"]),
                    rnd.choice(["incoming", "outgoing"]),
                    "order.created",
                    "delivered",
                    now - timedelta(seconds=rnd.randint(0, span)),
                    "{}",
                ]

        self.copy(
            Event._meta.db_table,
            [
                "organization_id",
                "customer_id",
                "type",
                "direction",
                "name",
                "status",
                "occurred_at",
                "payload_summary",
            ],
            events(),
            size["events"],
            "events",
        )
        self.load_audit(size["audit"], now)
        with connection.cursor() as cursor:
            # As autovacuum would by now: statistics, and the visibility map that index-only
            # scans (the list pages' counts) rely on.
            cursor.execute("VACUUM ANALYZE")

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
            "prev_hash",
            "hash",
        ]
        last = {
            o.pk: AuditEntry.objects.for_organization(o)
            .order_by("-id")
            .values_list("hash", flat=True)
            .first()
            or ""
            for o in self.orgs
        }
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
                entry.prev_hash = last[org.pk]
                entry.hash = last[org.pk] = entry_hash(entry, entry.prev_hash)
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
                    entry.prev_hash,
                    entry.hash,
                ]

        self.copy(AuditEntry._meta.db_table, columns, rows(), total, "audit entries")

    # --- pages --------------------------------------------------------------------------------

    def measure_pages(self, requests: int) -> list[dict[str, Any]]:
        self.stdout.write("Measuring pages…")
        org = self.orgs[0]
        client = Client()
        client.force_login(self.owner)
        session = client.session
        session["organization_id"] = str(org.pk)
        session.save()
        api_client = Client()
        secret = api_token_create(organization=org, name="bench", actor=self.owner)[1]
        auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
        customer = Customer.objects.for_organization(org).order_by("-created_at").first()
        workflow = Workflow.objects.for_organization(org).first()
        listing = f"/activity/executions/?workflow={workflow.pk}&triggered_by=webhook"
        deep = listing
        for _ in range(20):  # follow "Older" twenty pages deep
            older = re.search(r"before=(\d+~\d+)", client.get(deep).content.decode())
            if older is None:
                break
            deep = f"{listing}&before={older.group(1)}"
        # Three quarters of the way through the organization's customers, 25 a page.
        deep_page = max(1, self.size["customers"] // 2 * 3 // 4 // 25)
        today = timezone.now().date().isoformat()
        last_week = (timezone.now() - timedelta(days=7)).date().isoformat()
        pages = [
            ("Customers, first page", "/settings/customers/", "/admin/customers/customer/"),
            (
                "Customers, search",
                "/settings/customers/?q=00042",
                "/admin/customers/customer/?q=00042",
            ),
            (
                "Customers, status filter",
                "/settings/customers/?status=suspended",
                "/admin/customers/customer/?status__exact=suspended",
            ),
            (
                "Customers, deep page",
                f"/settings/customers/?page={deep_page}",
                f"/admin/customers/customer/?p={max(1, deep_page // 4)}",
            ),
            (
                "Customer detail",
                f"/settings/customers/{customer.pk}/",
                f"/admin/customers/customer/{customer.pk}/change/",
            ),
            ("Customer limits grid", "/settings/billing/customer-limits/", None),
            (
                "Executions, workflow + trigger",
                f"/activity/executions/?workflow={workflow.pk}&triggered_by=webhook",
                f"/admin/audit/execution/?triggered_by__exact=webhook&workflow__id__exact={workflow.pk}",
            ),
            ("Executions, deep keyset page", deep, None),
            (
                "Events, Webhook tab",
                "/activity/events/?type=webhook",
                "/admin/audit/event/?type__exact=webhook",
            ),
            (
                "Audit log, dates + user",
                f"/settings/audit-log/?user={self.owner.email}&date_after={last_week}"
                f"&date_before={today}",
                f"/admin/audit/auditentry/?q={self.owner.email}",
            ),
            ("API GET /customers", "/api/v1/customers", None),
            ("API GET /customer/{id}", f"/api/v1/customer/{customer.pk}", None),
        ]
        results = []
        for label, url, admin_url in pages:
            is_api = url.startswith("/api/")
            page = self.time_url(
                api_client if is_api else client, url, requests, auth if is_api else {}
            )
            admin = self.time_url(client, admin_url, requests) if admin_url else None
            row = {"page": label, "url": url, **page}
            if admin:
                row["admin_p50_ms"] = admin["p50_ms"]
                row["admin_p95_ms"] = admin["p95_ms"]
                row["page_vs_admin"] = round(page["p95_ms"] / admin["p95_ms"], 3)
            if page.get("sql_ms"):
                row["page_vs_sql"] = round(page["p95_ms"] / page["sql_ms"], 1)
            results.append(row)
            self.stdout.write(f"  {label}: p95 {page['p95_ms']} ms, {page['queries']} queries")
        return results

    def time_url(
        self, client: Client, url: str, requests: int, extra: dict | None = None
    ) -> dict[str, Any]:
        extra = extra or {}
        for _ in range(3):
            client.get(url, **extra)
        timings = []
        for _ in range(requests):
            began = time.perf_counter()
            response = client.get(url, **extra)
            timings.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **extra)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        main = max(captured.captured_queries, key=lambda q: float(q["time"]))
        sql_ms = None
        if main["sql"].lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + main["sql"])
                sql_ms = round(cursor.fetchone()[0][0]["Execution Time"], 2)
        counts = " ".join(q["sql"] for q in captured.captured_queries).upper()
        timings.sort()
        return {
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
            "queries": len(captured.captured_queries),
            "bytes": len(body),
            "sql_ms": sql_ms,
            # A COUNT(*) that reads a log table directly (a capped count over a LIMIT
            # subquery is fine).
            "count_on_big_table": any(
                f'COUNT(*) AS "__COUNT" FROM "{t}"' in counts
                for t in ("AUDIT_EXECUTION", "AUDIT_EVENT", "AUDIT_AUDITENTRY")
            ),
        }

    # --- ingestion ---------------------------------------------------------------------------

    def measure_ingestion(self, port: int, seconds: int) -> list[dict[str, Any]]:
        self.stdout.write("Measuring ingestion through gunicorn (2 workers × 4 threads)…")
        org = self.orgs[1]
        secret = api_token_create(organization=org, name="ingest", actor=self.owner)[1]
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        active = list(
            Customer.objects.for_organization(org)
            .filter(status="active")
            .values_list("pk", flat=True)[:500]
        )
        Customer.objects.for_organization(org).filter(pk__in=active).update(plan=enterprise)
        hot = Customer.objects.for_organization(org).get(pk=active[0])
        override_set(
            customer=hot, dimension="events_per_day", value=2_000, reason="bench", actor=self.owner
        )
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        }
        server = subprocess.Popen(  # noqa: S603 - our own gunicorn, on loopback
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=settings.BASE_DIR,
        )
        try:
            self.wait_for(port)
            base = f"http://127.0.0.1:{port}/api/v1/customer"
            scenarios = [
                ("single events, many customers", lambda i: (active[i % len(active)], 1), 8),
                ("batches of 100", lambda i: (active[i % len(active)], 100), 4),
                ("one hot customer with a limit", lambda i: (hot.pk, 1), 8),
            ]
            results = []
            for label, pick, clients in scenarios:
                before = Event.objects.for_organization(org).count()
                accepted, refused, requests = self.hammer(base, secret, pick, clients, seconds)
                stored = Event.objects.for_organization(org).count() - before
                results.append(
                    {
                        "scenario": label,
                        "clients": clients,
                        "requests_per_s": round(requests / seconds, 1),
                        "events_per_s": round(accepted / seconds, 1),
                        "accepted": accepted,
                        "refused_429": refused,
                        "stored": stored,
                        "exact": stored == accepted,
                    }
                )
                self.stdout.write(f"  {label}: {results[-1]['events_per_s']} events/s")

            hot_used = usage_for([hot])[hot.pk]["events_per_day"]
            results.append(
                {
                    "scenario": "hot customer limit held",
                    "limit": 2_000,
                    "used": hot_used,
                    "exact": hot_used <= 2_000,
                }
            )
            return results
        finally:
            server.terminate()
            server.wait(timeout=10)

    def wait_for(self, port: int) -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not start")

    def hammer(
        self, base: str, secret: str, pick: Any, clients: int, seconds: int
    ) -> tuple[int, int, int]:
        stop = time.monotonic() + seconds
        totals = {"accepted": 0, "refused": 0, "requests": 0}
        lock = threading.Lock()
        item = {"type": "webhook", "direction": "incoming", "name": "order.created"}

        def client(n: int) -> None:
            i = n
            while time.monotonic() < stop:
                customer_id, batch = pick(i)
                i += clients
                body = json.dumps(item if batch == 1 else [item] * batch).encode()
                request = urllib.request.Request(  # noqa: S310 - loopback only
                    f"{base}/{customer_id}/events",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                        accepted = json.loads(response.read())["accepted"]
                    outcome = "accepted"
                except urllib.error.HTTPError as error:
                    accepted, outcome = 0, "refused" if error.code == 429 else "error"
                with lock:
                    totals["requests"] += 1
                    if outcome == "accepted":
                        totals["accepted"] += accepted
                    elif outcome == "refused":
                        totals["refused"] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return totals["accepted"], totals["refused"], totals["requests"]

    # --- output -------------------------------------------------------------------------------

    def print_report(self, report: dict[str, Any]) -> None:
        out = self.stdout.write
        sizes = report["sizes"]
        out(f"\n## Tenantry bench — {report['when'][:19]} UTC\n")
        out(
            f"{sizes['customers']:,} customers, {sizes['executions']:,} executions, "
            f"{sizes['events']:,} events, {sizes['audit']:,} audit entries; loaded in "
            f"{report['load_seconds']} s; {sizes['requests']} requests per page; "
            f"{report['machine']['cpus']} CPUs.\n"
        )
        out(
            "| page | p50 ms | p95 ms | queries | bytes | main SQL ms | admin p95 ms | "
            "page/admin | page/SQL | COUNT(*) on a log |"
        )
        out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in report["pages"]:
            out(
                f"| {row['page']} | {row['p50_ms']} | {row['p95_ms']} | {row['queries']} | "
                f"{row['bytes']:,} | {row['sql_ms'] if row['sql_ms'] is not None else '—'} | "
                f"{row.get('admin_p95_ms', '—')} | {row.get('page_vs_admin', '—')} | "
                f"{row.get('page_vs_sql', '—')} | "
                f"{'yes' if row['count_on_big_table'] else 'no'} |"
            )
        out("\n| ingestion | clients | requests/s | events/s | accepted | 429s | stored | exact |")
        out("|---|---:|---:|---:|---:|---:|---:|---|")
        for row in report["ingestion"]:
            if "clients" in row:
                out(
                    f"| {row['scenario']} | {row['clients']} | {row['requests_per_s']} | "
                    f"{row['events_per_s']} | {row['accepted']} | {row['refused_429']} | "
                    f"{row['stored']} | {'yes' if row['exact'] else 'NO'} |"
                )
            else:
                out(
                    f"| {row['scenario']} (limit {row['limit']}) | | | | {row['used']} used "
                    f"| | | {'yes' if row['exact'] else 'NO'} |"
                )
