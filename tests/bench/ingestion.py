"""Measuring ingestion through gunicorn with concurrent clients (loopback only, bounded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings

from audit.models import Event
from billing.models import Plan
from billing.services import override_set, usage_for
from customers.models import Customer
from customers.services import api_token_create
from tests.bench.common import BenchError, Output


class Ingestion:
    stdout: Output

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
        server = subprocess.Popen(
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
        raise BenchError("gunicorn did not start")

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
                request = urllib.request.Request(
                    f"{base}/{customer_id}/events",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
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
