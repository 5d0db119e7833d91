"""Event ingestion's hot path (audit/activity/hot_path.py) from outside, over HTTP on PostgreSQL:
two statements per accepted request, limits exact under 8 racing threads, the same answers as the
general path, and effective limits in SQL equal to effective_limit() for generated settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.activity import hot_path
from audit.models import AuditEntry, Event
from billing.models import CustomerLimitOverride, PlanLimit, UsageCounter
from billing.services import effective_limit, override_set, pooled_cap_set
from customers.services import api_token_create, customer_suspend
from tests.conftest import requires_postgres
from tests.factories import make_customer
from tests.outside_in.test_races import api_post, no_errors, race

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

EVENT = {"type": "webhook", "direction": "incoming", "name": "order.created"}


def post(secret, customer, body):
    return api_post(secret, f"/customer/{customer.pk}/events", body)


@pytest.fixture
def big(org, owner):
    """A customer on the Enterprise plan: a 100-event batch stays well inside its limits."""
    return make_customer(org, actor=owner, plan="Enterprise")


def test_an_accepted_event_or_batch_is_two_statements(secret, big):
    post(secret, big, EVENT)  # the token's last use is noted now, in the statement
    for body in (EVENT, [EVENT] * 100):
        with CaptureQueriesContext(connection) as captured:
            response = post(secret, big, body)
        assert response.status_code == 201, response.content
        # The lookup, then counting and inserting; autocommit makes the statement its commit.
        assert len(captured) == 2, [q["sql"][:80] for q in captured]
        assert captured[1]["sql"].lstrip().startswith("WITH rate AS")
    assert Event.objects.for_customer(big).count() == 102
    counter = UsageCounter.objects.for_customer(big).get(dimension="events_per_day")
    assert counter.used == 102


def test_eight_threads_of_single_events_stop_exactly_at_the_limit(secret, big, owner):
    override_set(customer=big, dimension="events_per_day", value=50, reason="t", actor=owner)
    results = race(lambda n: [post(secret, big, EVENT).status_code for _ in range(10)])
    no_errors(results)
    statuses = [status for thread in results for status in thread]
    assert statuses.count(201) == 50
    assert statuses.count(429) == 30
    assert Event.objects.for_customer(big).count() == 50
    assert UsageCounter.objects.for_customer(big).get(dimension="events_per_day").used == 50
    # Refusals are audited as the general path audits them.
    assert AuditEntry.objects.for_customer(big).filter(action="events.refused").count() == 30


def test_racing_batches_are_all_or_nothing(secret, big, owner):
    override_set(customer=big, dimension="events_per_day", value=55, reason="t", actor=owner)
    results = race(lambda n: post(secret, big, [EVENT] * 10).status_code)
    no_errors(results)
    assert results.count(201) == 5
    assert Event.objects.for_customer(big).count() == 50  # never a part of a batch


@time_machine.travel(datetime(2026, 12, 2, 12, 0, 5, tzinfo=UTC))  # one minute's window
def test_a_customer_tokens_rate_limit_holds_under_racing_threads(org, owner, big):
    token_secret = api_token_create(organization=org, name="c", actor=owner, customer=big)[1]
    override_set(
        customer=big, dimension="api_requests_per_minute", value=20, reason="t", actor=owner
    )
    results = race(lambda n: [post(token_secret, big, EVENT).status_code for _ in range(5)])
    statuses = [status for thread in results for status in thread]
    assert statuses.count(201) == 20
    assert Event.objects.for_customer(big).count() == 20
    counter = UsageCounter.objects.for_customer(big).get(dimension="api_requests_per_minute")
    assert counter.used == 20


def test_what_the_hot_path_leaves_to_the_general_path_is_answered_the_same(org, owner, secret, big):
    # A suspended customer: 409, as before.
    suspended = make_customer(org, actor=owner)
    customer_suspend(customer=suspended, actor=owner)
    assert post(secret, suspended, EVENT).status_code == 409
    # A customer token used from an address its customer does not allow: 403, audited.
    walled = make_customer(org, actor=owner)
    walled.ip_whitelist = "10.9.9.0/24"
    walled.save()
    walled_secret = api_token_create(organization=org, name="w", actor=owner, customer=walled)[1]
    assert post(walled_secret, walled, EVENT).status_code == 403
    # A pooled cap on events: both counters, all or nothing, in the general path.
    pooled_cap_set(organization=org, dimension="events_per_day", value=3, actor=owner)
    assert post(secret, big, [EVENT] * 3).status_code == 201
    assert post(secret, big, EVENT).status_code == 429
    assert Event.objects.for_customer(big).count() == 3


LIMITS = st.one_of(st.none(), st.integers(min_value=0, max_value=10**6))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    default=st.one_of(st.just("absent"), LIMITS),
    override=st.one_of(st.just("absent"), LIMITS),
    expired=st.booleans(),
)
def test_the_lookups_limit_is_effective_limit(org, owner, secret, big, default, override, expired):
    """The hot path's SQL and effective_limit() in Python agree, whatever is configured."""
    PlanLimit.objects.for_organization(org).filter(
        plan=big.plan, dimension="events_per_day"
    ).delete()
    CustomerLimitOverride.objects.for_customer(big).delete()
    if default != "absent":
        PlanLimit.objects.create(
            organization=org, plan=big.plan, dimension="events_per_day", value=default
        )
    if override != "absent":
        CustomerLimitOverride.objects.create(
            organization=org,
            customer=big,
            dimension="events_per_day",
            value=override,
            reason="t",
            expires_at=timezone.now() + timedelta(days=-1 if expired else 1),
        )
    path = f"/api/v1/customer/{big.pk}/events"
    request = RequestFactory().post(path)
    request.resolver_match = resolve(path)
    admitted = hot_path.admission(request, secret)
    assert admitted is not None
    assert admitted.quota_limit == effective_limit(big, "events_per_day")


def test_a_failing_usage_alert_after_the_commit_is_logged_not_a_500(secret, big, owner, caplog):
    override_set(customer=big, dimension="events_per_day", value=100, reason="t", actor=owner)
    with mock.patch("billing.quota.services.hot_path.watch", side_effect=RuntimeError("mail down")):
        response = post(secret, big, [EVENT] * 20)  # 20 % of 100: whole percents crossed
    assert response.status_code == 201
    assert Event.objects.for_customer(big).count() == 20
    assert "Usage alerts after ingestion failed" in caplog.text


def test_a_customer_token_under_a_pooled_rate_cap_spends_both_counters(org, owner, big):
    """The hot path leaves it to the general path, which counts both, all or nothing."""
    token_secret = api_token_create(organization=org, name="c", actor=owner, customer=big)[1]
    pooled_cap_set(organization=org, dimension="api_requests_per_minute", value=2, actor=owner)
    statuses = [post(token_secret, big, EVENT).status_code for _ in range(4)]
    assert statuses == [201, 201, 429, 429]


@time_machine.travel(datetime(2026, 12, 2, 12, 0, 5, tzinfo=UTC))  # one minute's window
def test_a_body_the_api_refuses_still_spends_the_rate_limit(org, owner, big):
    token_secret = api_token_create(organization=org, name="c", actor=owner, customer=big)[1]
    override_set(
        customer=big, dimension="api_requests_per_minute", value=2, reason="t", actor=owner
    )
    bad = [post(token_secret, big, {"type": "nope"}).status_code for _ in range(3)]
    unparsed = Client().post(
        f"/api/v1/customer/{big.pk}/events",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_secret}",
    )
    assert bad == [422, 422, 429]  # as the general path answers: the rate is spent first
    assert unparsed.status_code == 429
    assert post(token_secret, big, EVENT).status_code == 429
    assert Event.objects.for_customer(big).count() == 0
