"""``make bench PROFILE=page``: one page (or one ingestion request) under cProfile, so each claim
about where the time goes is measured. The report goes to var/bench/profile-<page>.txt."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.text import slugify

from billing.services import override_set
from customers.models import Customer
from customers.services import api_token_create
from tests.bench.common import BenchError, Output

# Where the time goes, by the function families a report is read for.
FAMILIES = {
    "template rendering": ("django/template/", "template_partials/"),
    "SQL compilation (ORM)": ("django/db/models/sql/compiler.py",),
    "database round trips": ("psycopg/cursor.py", "psycopg/connection.py"),
    "middleware": ("django/contrib/sessions/", "csp/", "django_otp/", "axes/"),
}


class Profile:
    stdout: Output
    orgs: list
    owner: Any

    def targets(self) -> dict[str, Any]:
        """Every page by its slug ("customer-detail"), and the two ingestion requests."""
        client, api_client, auth = self.clients()
        found = {}
        for label, url, _admin in self.page_list(client):
            is_api = url.startswith("/api/")
            found[slugify(label)] = (
                api_client if is_api else client,
                "get",
                url,
                auth if is_api else {},
                None,
            )
        org = self.orgs[0]
        customer = Customer.objects.for_organization(org).filter(status="active").first()
        # Room for every profiled request: the plan's daily quota would refuse them (429).
        override_set(
            customer=customer,
            dimension="events_per_day",
            value=10**9,
            reason="bench profile",
            actor=self.owner,
        )
        secret = api_token_create(organization=org, name="profile", actor=self.owner)[1]
        ingest = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "content_type": "application/json"}
        item = {"type": "webhook", "direction": "incoming", "name": "order.created"}
        path = f"/api/v1/customer/{customer.pk}/events"
        found["ingest-event"] = (Client(), "post", path, ingest, json.dumps(item))
        found["ingest-batch"] = (Client(), "post", path, ingest, json.dumps([item] * 100))
        return found

    def profile(self, name: str, requests: int) -> Path:
        targets = self.targets()
        if name not in targets:
            raise BenchError(f"No page {name!r}; one of: {', '.join(sorted(targets))}")
        client, method, url, extra, body = targets[name]
        call = getattr(client, method)
        args = (url, body) if body is not None else (url,)
        for _ in range(3):
            call(*args, **extra)
        with CaptureQueriesContext(connection) as captured:
            call(*args, **extra)
        # Copied now: the next request clears the log the context reads from.
        queries = list(captured.captured_queries)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            response = call(*args, **extra)
        profiler.disable()
        per_request = (time.perf_counter() - started) * 1000 / requests
        if response.status_code >= 400:
            raise BenchError(f"{url} answered {response.status_code}")
        stats = pstats.Stats(profiler)
        report = io.StringIO()
        report.write(f"{method.upper()} {url}: {requests} requests under cProfile, ")
        report.write(f"{per_request:.2f} ms each (profiled), {len(queries)} queries\n\n")
        report.write(self.families(stats, requests) + "\n")
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(30)
        report.write("\nQueries of one request:\n")
        for query in queries:
            report.write(f"  {query['time']} s  {query['sql'][:300]}\n")
        out = Path(settings.BASE_DIR) / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"profile-{name}.txt"
        path.write_text(report.getvalue())
        self.stdout.write(report.getvalue().split("\n\n")[0])
        self.stdout.write(self.families(stats, requests))
        self.stdout.write(f"Full report: {path}")
        return path

    def families(self, stats: pstats.Stats, requests: int) -> str:
        """Own time (tottime) per family, in ms per request and as a share of the whole."""
        total = sum(row[2] for row in stats.stats.values()) or 1
        lines = []
        for family, needles in FAMILIES.items():
            own = sum(
                row[2]
                for (filename, _line, _name), row in stats.stats.items()
                if any(needle in filename for needle in needles)
            )
            lines.append(
                f"  {family}: {1000 * own / requests:.2f} ms a request ({100 * own / total:.0f} %)"
            )
        return "Own time by family:\n" + "\n".join(lines)
