"""Measuring each list page against the Django admin's changelist and its own main SQL."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Workflow
from customers.models import Customer
from customers.services import api_token_create
from tests.bench.common import BenchError, Output


class Pages:
    stdout: Output

    def clients(self) -> tuple[Client, Client, dict[str, str]]:
        """A signed-in owner of the first organization, and an API client with its token."""
        org = self.orgs[0]
        client = Client()
        client.force_login(self.owner)
        session = client.session
        session["organization_id"] = str(org.pk)
        session.save()
        secret = api_token_create(organization=org, name="bench", actor=self.owner)[1]
        return client, Client(), {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def page_list(self, client: Client) -> list[tuple[str, str, str | None]]:
        """(label, URL, the admin changelist of the same data) for every measured page."""
        org = self.orgs[0]
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
        return [
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

    def measure_pages(self, requests: int) -> list[dict[str, Any]]:
        self.stdout.write("Measuring pages…")
        client, api_client, auth = self.clients()
        results = []
        for label, url, admin_url in self.page_list(client):
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
            raise BenchError(f"{url} answered {response.status_code}")
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
