"""Measuring what usage alerts add to consume(): the same calls with the alert check and with
it switched off, interleaved so both see the same database and cache state."""

from __future__ import annotations

import statistics
import time
from typing import Any
from unittest import mock

from django.db import transaction

from billing.models import Plan
from billing.services import consume, override_set
from customers.services import customer_create
from tests.bench.common import Output

ROUNDS, PER_ROUND = 9, 100  # 900 calls each way: stays under a limit of 1,000


class Consume:
    stdout: Output
    orgs: list
    owner: Any

    def measure_consume(self) -> list[dict[str, Any]]:
        self.stdout.write("Measuring consume() with and without the usage alert check…")
        org = self.orgs[0]
        plan = Plan.objects.for_organization(org).get(name="Pro")
        rows = []
        for limit in (1_000, 100_000):
            on, off = (
                self._customer(org, plan, limit, f"consume-{limit}-{which}-{time.time_ns()}")
                for which in ("on", "off")
            )
            times: dict[str, list[float]] = {"on": [], "off": []}
            for round_ in range(ROUNDS):  # alternating which goes first, against drift
                for which in ("on", "off") if round_ % 2 else ("off", "on"):
                    if which == "on":
                        times["on"].append(self._calls(on))
                    else:
                        with mock.patch("billing.quota.services.quota.watch"):  # switched off
                            times["off"].append(self._calls(off))
            calls = ROUNDS * PER_ROUND
            # The median round, against a noisy neighbour on a small machine.
            on_ms, off_ms = (1000 * statistics.median(times[w]) / PER_ROUND for w in ("on", "off"))
            rows.append(
                {
                    "limit": limit,
                    "calls": calls,
                    "with_alerts_ms": round(on_ms, 3),
                    "without_ms": round(off_ms, 3),
                    "extra_percent": round(100 * (on_ms - off_ms) / off_ms, 1),
                }
            )
        return rows

    def _customer(self, org: Any, plan: Plan, limit: int, slug: str) -> Any:
        customer = customer_create(
            organization=org,
            actor=self.owner,
            name=slug,
            slug=slug,
            plan=plan,
            external_id="",
            admin_email="",
        )
        override_set(
            customer=customer,
            dimension="events_per_day",
            value=limit,
            reason="bench",
            actor=self.owner,
        )
        return customer

    def _calls(self, customer: Any) -> float:
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            with transaction.atomic():  # as ingestion calls it: one transaction per request
                assert consume(customer, "events_per_day").allowed
        return time.perf_counter() - started
