"""Under concurrent load the limit holds exactly and no count is lost (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from audit.activity.ingestion import events_ingest
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


def test_each_alert_fires_once_when_eight_threads_cross_it(org, owner):
    """Usage alerts under concurrency: 8 threads push 10 customers through 80 % and 100 % of
    their limits at once; each threshold is announced exactly once per customer."""
    from audit.models import AuditEntry
    from billing.models import QuotaNotice
    from tests.figures import count

    customers = [make_customer(org, actor=owner, plan="Enterprise") for _ in range(10)]
    for customer in customers:
        override_set(
            customer=customer, dimension="events_per_day", value=40, reason="test", actor=owner
        )

    accepted = hammer(customers, attempts=60, threads=8)

    assert sum(accepted) == 400  # 10 × 40: the limits hold
    notices = QuotaNotice.objects.for_organization(org).filter(kind__startswith="threshold")
    per_customer = {
        c.pk: sorted(notices.filter(customer=c).values_list("kind", flat=True)) for c in customers
    }
    assert all(kinds == ["threshold_100", "threshold_80"] for kinds in per_customer.values())
    crossed = AuditEntry.objects.for_organization(org).filter(action="usage.threshold_crossed")
    duplicates = crossed.count() - 20
    count("usage alerts fired under concurrency", crossed.count())
    count("duplicate usage alerts under concurrency", duplicates)
    assert duplicates == 0


def test_connection_activity_from_eight_threads_is_all_counted(org, owner):
    """Connection activity is counted by the same atomic path as usage: nothing is lost."""
    from customers.models import ConnectionActivity
    from customers.services import connection_activity_record
    from tests.factories import make_connection

    customer = make_customer(org, actor=owner, plan="Enterprise")
    target = make_connection(customer)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        start.wait()
        try:
            for i in range(10):
                outcome = "error" if (n + i) % 4 == 0 else "success"
                connection_activity_record(
                    connection=target, actor=None, items=[{"outcome": outcome, "error": "x"}] * 3
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    counted = ConnectionActivity.objects.for_organization(org).filter(connection=target)
    assert sum(counted.values_list("used", flat=True)) == 8 * 10 * 3
    target.refresh_from_db()
    assert target.errors_7d + target.successes_7d == 240


def race(threads: int, work) -> list[BaseException]:
    """Start ``threads`` threads on ``work`` at once; the errors they raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def test_eight_first_saves_of_one_customers_thresholds_make_one_row(org, owner):
    from billing.models import AlertThreshold
    from billing.services import thresholds_set

    customer = make_customer(org, actor=owner)
    errors = race(
        8,
        lambda: thresholds_set(
            organization=org,
            actor=owner,
            dimension="events_per_day",
            percents=[50, 90],
            customer=customer,
        ),
    )
    assert errors == []
    rows = AlertThreshold.objects.for_organization(org).filter(customer=customer)
    assert list(rows.values_list("percents", flat=True)) == [[50, 90]]


def test_eight_digests_at_once_send_one(org, owner):
    from billing.models import UsageDigest
    from billing.services import usage_digest_send

    sent: list[int] = []
    errors = race(8, lambda: sent.append(usage_digest_send(org)))
    assert errors == []
    assert sorted(sent) == [0] * 7 + [1]
    assert UsageDigest.objects.for_organization(org).count() == 1
