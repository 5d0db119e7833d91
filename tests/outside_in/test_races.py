"""Every uniqueness rule and every idempotent write, raced by 8 real threads on PostgreSQL:
exactly one row, the others get the clear refusal the non-racing path gives, never a 500."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from audit.models import AuditEntry, LogStream, Workflow
from audit.streams.services import MAX_STREAMS, stream_create
from billing.models import CustomerLimitOverride, Plan, PlanLimit, PooledCap
from billing.services import (
    announce_exceeded,
    consume,
    override_set,
    plan_limit_set,
    pooled_cap_set,
)
from customers.models import (
    Customer,
    CustomerUser,
    IdempotencyKey,
    Membership,
    Organization,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from customers.services import (
    endpoint_create,
    membership_add,
    organization_create,
)
from customers.webhooks.services import MAX_ENDPOINTS
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_customer
from tests.figures import count

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def race(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(n)`` in ``threads`` threads released at once; each result, or the exception
    it raised."""
    results: list[Any] = [None] * threads
    start = threading.Barrier(threads, timeout=30)

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = work(n)
        except Exception as error:  # a 500 through the test client raises here
            results[n] = error
        finally:
            connections.close_all()

    count("races run")
    count("racing requests", threads)
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in pool), "a racing thread hung"
    return results


def no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, Exception)]
    count("racing requests answered 5xx", len(errors))
    count(
        "racing requests answered 5xx",
        sum(getattr(r, "status_code", 200) >= 500 for r in results if r not in errors),
    )
    assert not errors, errors
    statuses = [getattr(r, "status_code", 200) for r in results]
    assert all(s < 500 for s in statuses), statuses


def api_post(secret: str, path: str, body: Any, **headers: str):
    return Client().post(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        **headers,
    )


def test_idempotency_key_100_bursts_of_8_give_one_customer_per_key(org, secret):
    duplicates = 0
    for burst in range(100):
        key = f"burst-{burst}"
        body = {"name": f"Burst {burst}"}
        results = race(
            lambda n, key=key, body=body: api_post(
                secret, "/customers", body, HTTP_IDEMPOTENCY_KEY=key
            )
        )
        no_errors(results)
        statuses = Counter(r.status_code for r in results)
        assert set(statuses) <= {201, 409}, statuses
        bodies = {json.dumps(r.json(), sort_keys=True) for r in results if r.status_code == 201}
        assert len(bodies) == 1  # every 201 is the replay of the one response
        duplicates += Customer.objects.for_organization(org).filter(name=body["name"]).count() - 1
    count("duplicate rows after races", duplicates)
    assert duplicates == 0
    assert IdempotencyKey.objects.for_organization(org).count() == 100
    assert not IdempotencyKey.objects.for_organization(org).filter(status_code__isnull=True)


def test_one_slug_through_the_api_creates_one_customer(org, secret):
    results = race(lambda n: api_post(secret, "/customers", {"name": f"Same {n}", "slug": "same"}))
    no_errors(results)
    assert sorted(r.status_code for r in results) == [201] + [409] * (THREADS - 1)
    refusal = next(r for r in results if r.status_code == 409).json()["detail"]
    assert "uses the slug" in refusal
    assert Customer.objects.for_organization(org).filter(slug="same").count() == 1


def test_one_external_id_through_the_api_creates_one_customer(org, secret):
    results = race(
        lambda n: api_post(secret, "/customers", {"name": f"Ext {n}", "external_id": "ext-1"})
    )
    no_errors(results)
    assert sorted(r.status_code for r in results) == [201] + [409] * (THREADS - 1)
    assert Customer.objects.for_organization(org).filter(external_id="ext-1").count() == 1


def test_one_slug_through_the_console_creates_one_customer(org, owner):
    plan = Plan.objects.for_organization(org).get(name="Free")

    def create(n: int):
        client = Client()
        client.force_login(owner)
        return client.post(
            "/settings/customers/new", {"name": f"Console {n}", "slug": "console", "plan": plan.pk}
        )

    results = race(create)
    no_errors(results)
    assert sorted(r.status_code for r in results) == [302] + [422] * (THREADS - 1)
    refused = next(r for r in results if r.status_code == 422).content.decode()
    assert "uses the slug" in refused
    assert Customer.objects.for_organization(org).filter(slug="console").count() == 1


def test_one_invitation_accepted_at_once_by_8_browsers_makes_one_account(org, owner):
    customer = make_customer(org, actor=owner, admin_email="race@acme.ai")
    # A known token: resend issues a new one, and the email carries it.
    from django.core import mail

    from customers.services import invite_resend

    invite_resend(invitation=customer.admin_invitation, actor=owner)
    link = mail.outbox[-1].body.split("/invite/")[1].split("/")[0]

    def accept(n: int):
        client = Client()
        client.get(f"/invite/{link}/")
        return client.post(
            "/invite/accept/",
            {
                "name": f"Racer {n}",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
        )

    results = race(accept)
    no_errors(results)
    statuses = Counter(r.status_code for r in results)
    assert statuses[302] == 1, statuses
    assert set(statuses) <= {302, 410}, statuses
    refused = next(r for r in results if r.status_code == 410).content.decode()
    assert "not valid" in refused
    assert User.objects.filter(email="race@acme.ai").count() == 1
    assert CustomerUser.objects.for_customer(customer).count() == 1


def test_two_ingestions_naming_one_new_workflow_make_one_workflow(org, owner, secret):
    customer = make_customer(org, actor=owner, plan="Enterprise")
    execution = {
        "workflow": "brand-new",
        "triggered_by": "webhook",
        "started_at": "2026-11-20T10:00:00Z",
    }
    results = race(lambda n: api_post(secret, f"/customer/{customer.pk}/executions", execution))
    no_errors(results)
    assert [r.status_code for r in results] == [201] * THREADS
    assert Workflow.objects.for_organization(org).filter(name="brand-new").count() == 1
    assert AuditEntry.objects.for_organization(org).filter(action="workflow.created").count() == 1


def test_organizations_with_one_name_get_distinct_slugs(db):
    results = race(lambda n: organization_create(name="Same Name"))
    no_errors(results)
    slugs = set(Organization.objects.filter(name="Same Name").values_list("slug", flat=True))
    assert len(slugs) == THREADS


def test_adding_one_member_at_once_makes_one_membership(org, owner):
    user = UserFactory()
    results = race(
        lambda n: membership_add(organization=org, user=user, role="viewer", actor=owner)
    )
    no_errors(results)
    assert Membership.objects.filter(organization=org, user=user).count() == 1


def test_one_override_at_once_makes_one_override(org, owner):
    customer = make_customer(org, actor=owner)
    results = race(
        lambda n: override_set(
            customer=customer, dimension="events_per_day", value=100 + n, reason="race", actor=owner
        )
    )
    no_errors(results)
    assert CustomerLimitOverride.objects.for_customer(customer).count() == 1


def test_one_plan_default_and_one_pooled_cap_at_once(org, owner):
    plan = Plan.objects.for_organization(org).get(name="Pro")
    PlanLimit.objects.for_organization(org).filter(plan=plan, dimension="seats").delete()
    results = race(
        lambda n: plan_limit_set(plan=plan, dimension="seats", value=10 + n, actor=owner)
    )
    no_errors(results)
    assert PlanLimit.objects.for_organization(org).filter(plan=plan, dimension="seats").count() == 1
    results = race(
        lambda n: pooled_cap_set(
            organization=org, dimension="events_per_day", value=1000 + n, actor=owner
        )
    )
    no_errors(results)
    assert PooledCap.objects.for_organization(org).count() == 1


def test_webhook_sequence_numbers_stay_unique_and_gapless_under_concurrent_changes(
    org, owner, settings
):
    # Each racing change numbers a delivery and, once committed, its thread runs the worker
    # too: numbering and claiming are raced together (the receiver refuses; that is fine).
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/closed", actor=owner)
    results = race(lambda n: make_customer(org, actor=owner, name=f"Webhook race {n}"))
    no_errors(results)
    deliveries = WebhookDelivery.objects.unscoped().filter(endpoint=endpoint)
    assert sorted(d.sequence for d in deliveries) == list(range(1, THREADS + 1))
    for delivery in deliveries:  # each claimed by one thread at a time: one attempt each
        assert delivery.attempts == delivery.attempt_log.count() == 1


def test_quota_exceeded_is_announced_once_when_refusals_race(org, owner):
    customer = make_customer(org, actor=owner, name="Raced quota")
    override_set(customer=customer, dimension="events_per_day", value=0, reason="race", actor=owner)

    def refuse(n: int) -> bool:
        consumption = consume(customer, "events_per_day")
        assert not consumption.allowed
        return announce_exceeded(customer, consumption)

    results = race(refuse)
    no_errors(results)
    assert results.count(True) == 1
    notices = AuditEntry.objects.unscoped().filter(action="quota.exceeded")
    assert notices.count() == 1


def test_the_endpoint_limit_holds_when_creates_race(org, owner, secret, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    for n in range(MAX_ENDPOINTS - 1):
        endpoint_create(organization=org, url=f"http://127.0.0.1:9/{n}", actor=owner)
    results = race(lambda n: api_post(secret, "/webhook-endpoints", {"url": f"http://x{n}.test/"}))
    no_errors(results)
    count("limit races run")
    count("limit breaks", max(0, WebhookEndpoint.objects.unscoped().count() - MAX_ENDPOINTS))
    assert WebhookEndpoint.objects.for_organization(org).count() == MAX_ENDPOINTS
    assert sorted(r.status_code for r in results) == [201] + [409] * (THREADS - 1)


def test_the_log_stream_limit_holds_when_creates_race(org, owner):
    for n in range(MAX_STREAMS - 1):
        stream_create(
            organization=org, actor=owner, kind="file", name=f"F{n}", file_name=f"{n}.jsonl"
        )

    def add(n: int):
        client = Client()
        client.force_login(owner)
        return client.post(
            "/settings/audit-log/streams/",
            {"kind": "file", "name": f"Race {n}", "file_name": f"race-{n}.jsonl"},
        )

    results = race(add)
    no_errors(results)
    count("limit races run")
    count("limit breaks", max(0, LogStream.objects.unscoped().count() - MAX_STREAMS))
    assert LogStream.objects.for_organization(org).count() == MAX_STREAMS
    # The console's answer to a full organization, as without a race: the form, with why.
    assert sorted(r.status_code for r in results) == [302] + [422] * (THREADS - 1)
    assert all("delete one first" in r.content.decode() for r in results if r.status_code == 422)


def test_concurrent_replay_since_answers_each_as_alone(org, owner, receiver):
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, actor=owner)
    for n in range(5):
        make_customer(org, actor=owner, name=f"Replayed {n}")
    client = Client()
    client.force_login(owner)
    url = f"/settings/webhooks/{endpoint.pk}/replay-since"

    def replay(n: int):
        other = Client()
        other.force_login(owner)
        return other.post(url, {"since": "2000-01-01T00:00"})

    results = race(replay)
    no_errors(results)
    assert [r.status_code for r in results] == [302] * THREADS
    originals = WebhookDelivery.objects.unscoped().filter(endpoint=endpoint, replay_of=None)
    assert originals.count() == 5  # each event queued once; replays stand beside them
    sequences = list(
        WebhookDelivery.objects.unscoped()
        .filter(endpoint=endpoint)
        .values_list("sequence", flat=True)
    )
    assert len(sequences) == len(set(sequences))


def test_deleting_an_endpoint_while_the_worker_records_is_never_an_error(org, owner, receiver):
    from django.utils import timezone

    from customers.models import WebhookAttempt
    from customers.services import endpoint_delete
    from customers.webhooks.delivery import claim, record_outcome, send

    for round_ in range(10):
        endpoint, _ = endpoint_create(organization=org, url=receiver.url, actor=owner)
        make_customer(org, actor=owner, name=f"Deleted {round_}")
        delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
        # As if not yet sent (the test's worker may already have): claimed, in flight.
        WebhookAttempt.objects.unscoped().filter(delivery=delivery).delete()
        WebhookDelivery.objects.unscoped().filter(pk=delivery.pk).update(
            status="pending", attempts=0, next_attempt_at=timezone.now()
        )
        claimed = claim(delivery.pk, timezone.now())
        outcome = send(claimed)

        def work(n: int, endpoint=endpoint, claimed=claimed, outcome=outcome):
            if n % 2:
                return endpoint_delete(endpoint=endpoint, actor=owner)
            return record_outcome(claimed, outcome)

        no_errors(race(work, threads=2))
        assert not WebhookEndpoint.objects.unscoped().filter(pk=endpoint.pk).exists()
