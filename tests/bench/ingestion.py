"""Measuring ingestion through two gunicorn instances on one database, with concurrent clients
spread over both (loopback only, bounded in time), against the pgbench ceiling of its SQL."""

from __future__ import annotations

import http.client
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
from billing.services import usage_for
from customers.models import Customer
from customers.services import api_token_create
from tests.bench.common import BenchError, Output

HOT_LIMIT = 2_000


class Ingestion:
    stdout: Output

    def measure_ingestion(self, port: int, seconds: int) -> list[dict[str, Any]]:
        self.stdout.write("Measuring ingestion: two gunicorns (2 workers × 4 threads each)…")
        org = self.orgs[1]
        secret = api_token_create(organization=org, name="ingest", actor=self.owner)[1]
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        active = list(
            Customer.objects.for_organization(org)
            .filter(status="active")
            .values_list("pk", flat=True)[:500]
        )
        Customer.objects.for_organization(org).filter(pk__in=active).update(plan=enterprise)
        hot, hot_ceiling = (self.hot_customer(org, enterprise, tag) for tag in ("app", "pgbench"))
        ports = [port, port + 1]
        servers = [self.start_gunicorn(p) for p in ports]
        scenarios = [
            ("single events, many customers", active, 1, 8),
            ("batches of 100", active, 100, 4),
            ("one hot customer with a limit", [hot.pk], 1, 8),
        ]
        try:
            for p in ports:
                self.wait_for(p)
            results = [
                self.scenario(org, ports, secret, scenario, seconds) for scenario in scenarios
            ]
            rss = [self.peak_rss_mb(server) for server in servers]
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=10)
        hot_used = usage_for([hot])[hot.pk]["events_per_day"]
        self.ceilings(results, scenarios, secret, {hot.pk: hot_ceiling.pk}, seconds)
        peaks = [mb for server in rss for mb in server]
        return [
            *results,
            {
                "scenario": "hot customer limit held",
                "limit": HOT_LIMIT,
                "used": hot_used,
                "exact": hot_used <= HOT_LIMIT,
            },
            {
                "scenario": "peak RSS per gunicorn worker (MB)",
                "workers": peaks,
                "exact": all(mb <= 150 for mb in peaks),
            },
        ]

    def ceilings(
        self, results: list, scenarios: list, secret: str, stand_ins: dict, seconds: int
    ) -> None:
        """Each scenario's SQL under pgbench. The statements are taken from a request for a
        customer with room (the app's run, or an earlier one today, may have used a customer's
        daily quota): the hot customer's from a stand-in with the same limit, the others' from
        a customer without one. pgbench then draws the scenario's customers, as its clients did."""
        self.stdout.write("Measuring the same SQL under pgbench…")
        org = self.orgs[1]
        roomy = self._customer(
            org,
            Plan.objects.for_organization(org).get(name="Enterprise"),
            10**9,
            f"roomy-{uuid.uuid4().hex[:8]}",
        )
        for row, (_label, picks, batch, clients) in zip(results, scenarios, strict=True):
            sample = stand_ins.get(picks[0], roomy.pk)
            picks = [stand_ins.get(pk, pk) for pk in picks]
            ceiling = self.pgbench(
                self.ingestion_sql(secret, sample, batch), [sample, *picks], clients, seconds
            )
            row["pgbench_requests_per_s"] = round(ceiling, 1)
            row["percent_of_ceiling"] = round(100 * row["requests_per_s"] / ceiling, 1)

    def scenario(
        self, org: Any, ports: list[int], secret: str, scenario: tuple, seconds: int
    ) -> dict[str, Any]:
        """One scenario's clients for ``seconds``; what they were told against what is stored."""
        label, picks, batch, clients = scenario
        before = Event.objects.for_organization(org).count()
        accepted, refused, requests, errors = self.hammer(
            ports, secret, picks, batch, clients, seconds
        )
        stored = Event.objects.for_organization(org).count() - before
        self.stdout.write(f"  {label}: {round(accepted / seconds, 1)} events/s")
        return {
            "scenario": label,
            "clients": clients,
            "requests_per_s": round(requests / seconds, 1),
            "events_per_s": round(accepted / seconds, 1),
            "accepted": accepted,
            "refused_429": refused,
            "errors": errors,
            "stored": stored,
            "exact": stored == accepted and errors == 0,
        }

    def hot_customer(self, org: Any, plan: Plan, tag: str) -> Customer:
        customer = self._customer(org, plan, HOT_LIMIT, f"hot-{tag}-{uuid.uuid4().hex[:8]}")
        Customer.objects.for_organization(org).filter(pk=customer.pk).update(status="active")
        return customer

    def start_gunicorn(self, port: int) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        }
        command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread"]
        command += ["--threads", "4", "--log-level", "warning"]
        return subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)

    def peak_rss_mb(self, server: subprocess.Popen) -> list[float]:
        """Each worker's peak resident set (VmHWM) so far, in MB."""
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        peaks = []
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(round(int(line.split()[1]) / 1024, 1))
        return peaks

    def wait_for(self, port: int) -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise BenchError("gunicorn did not start")

    def hammer(
        self,
        ports: list[int],
        secret: str,
        picks: list[Any],
        batch: int,
        clients: int,
        seconds: int,
    ) -> tuple[int, int, int, int]:
        """Clients alternate between the servers, each customer in turn, for ``seconds``."""
        stop = time.monotonic() + seconds
        totals = {"accepted": 0, "refused": 0, "requests": 0, "errors": 0}
        lock = threading.Lock()
        item = {"type": "webhook", "direction": "incoming", "name": "order.created"}
        body = json.dumps(item if batch == 1 else [item] * batch).encode()

        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

        def client(n: int) -> None:
            # One kept-alive connection per client, as a real sender would hold.
            i, server = (
                n,
                http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=10),
            )
            while time.monotonic() < stop:
                customer_id = picks[i % len(picks)]
                i += clients
                server.request("POST", f"/api/v1/customer/{customer_id}/events", body, headers)
                response = server.getresponse()
                answer = response.read()
                if response.status == 201:
                    accepted, outcome = json.loads(answer)["accepted"], "accepted"
                else:
                    accepted, outcome = 0, "refused" if response.status == 429 else "errors"
                with lock:
                    totals["requests"] += 1
                    if outcome == "accepted":
                        totals["accepted"] += accepted
                    else:
                        totals[outcome] += 1
            server.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return totals["accepted"], totals["refused"], totals["requests"], totals["errors"]
