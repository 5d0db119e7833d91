"""Under concurrent load the limit holds exactly and no count is lost (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from audit.ingestion import events_ingest
from audit.models import Event
from billing.models import UsageCounter
from billing.services import QuotaExceeded, override_set, pooled_cap_set
from tests.conftest import requires_postgres
from tests.factories import make_customer

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

EVENT = {"type": "webhook", "direction": "incoming", "name": "order.created"}


def hammer(customers, attempts: int, threads: int) -> list[int]:
    accepted = [0] * threads
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        try:
            for i in range(attempts):
                try:
                    events_ingest(customer=customers[(n + i) % len(customers)], items=[EVENT])
                    accepted[n] += 1
                except QuotaExceeded:
                    pass
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return accepted


def test_eight_threads_against_a_limit_of_500_accept_exactly_500(org, owner):
    customer = make_customer(org, actor=owner, plan="Enterprise")
    override_set(
        customer=customer, dimension="events_per_day", value=500, reason="test", actor=owner
    )

    accepted = hammer([customer], attempts=200, threads=8)

    assert sum(accepted) == 500
    assert Event.objects.for_customer(customer).count() == 500
    counter = UsageCounter.objects.for_customer(customer).get(dimension="events_per_day")
    assert counter.used == 500


def test_the_pooled_cap_holds_across_customers(org, owner):
    customers = [make_customer(org, actor=owner, plan="Enterprise") for _ in range(4)]
    pooled_cap_set(organization=org, dimension="events_per_day", value=300, actor=owner)

    accepted = hammer(customers, attempts=100, threads=8)

    assert sum(accepted) == 300
    assert Event.objects.for_organization(org).count() == 300
    counted = sum(UsageCounter.objects.for_organization(org).values_list("used", flat=True))
    assert counted == 300
    assert connection.vendor == "postgresql"
