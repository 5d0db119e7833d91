"""One worker, many organizations: a receiver that hangs delays no other organization's
webhooks or log stream by more than a few seconds; endpoints are served round-robin across
organizations, one attempt at a time each; an endpoint that times out is paused (the breaker)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.streams.delivery import stream_file
from audit.streams.services import stream_create
from customers.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from customers.services import endpoint_create
from customers.webhooks import delivery as delivering
from customers.webhooks.delivery import deliver_now, next_due
from tests.factories import make_customer
from tests.figures import count
from tests.receiver import hanging_receiver

# serial: it bounds how long a delivery waits, which a loaded machine can stretch.
pytestmark = [pytest.mark.django_db, pytest.mark.serial]

HANG_SECONDS = 2  # the senders' timeout here (10 s in production): the test waits it out once


@pytest.fixture
def short_timeout(monkeypatch, settings, tmp_path):
    monkeypatch.setattr("customers.platform.outbound.transport.TIMEOUT_SECONDS", HANG_SECONDS)
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.AUDIT_STREAM_FILE_DIR = tmp_path / "streams"


def test_a_hanging_endpoint_delays_another_organization_by_at_most_a_few_seconds(
    org, owner, other_org, outsider, receiver, short_timeout
):
    with hanging_receiver() as hangs:
        stuck, _ = endpoint_create(organization=org, url=hangs, actor=owner)
        for n in range(20):  # a backlog, as after "Replay since"
            make_customer(org, actor=owner, name=f"Backlog {n}")
        endpoint_create(organization=other_org, url=receiver.url, actor=outsider)
        stream, _ = stream_create(
            organization=other_org, actor=outsider, kind="file", name="F", file_name="a.jsonl"
        )
        make_customer(other_org, actor=outsider, name="Waiting Co")
        started, began = time.monotonic(), timezone.now()
        deliver_now()

    [arrived] = receiver.received
    delay = arrived["at"] - started
    count("fairness: ms another organization waited behind a hanging endpoint", int(delay * 1000))
    assert delay < 2, delay  # it did not wait for the hanging one's timeout
    stream.refresh_from_db()
    assert stream.delivered > 0
    assert stream_file(stream).exists()
    assert (stream.last_delivered_at - began).total_seconds() < 2  # nor did its log stream

    # The hanging endpoint cost one timeout, not twenty: its circuit is open.
    assert WebhookAttempt.objects.for_organization(org).count() == 1
    stuck.refresh_from_db()
    assert stuck.timeouts_in_row == 1
    assert stuck.paused_until - timezone.now() > timedelta(seconds=25)
    assert WebhookDelivery.objects.for_organization(org).filter(attempts=0).count() == 19
    assert next_due() >= stuck.paused_until  # the worker comes back when the pause ends


def test_endpoints_are_served_round_robin_across_organizations(
    org, owner, other_org, outsider, receiver, monkeypatch, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(delivering, "SENDERS", 1)  # one attempt at a time: the order shows
    for organization, actor in ((org, owner), (org, owner), (other_org, outsider)):
        endpoint_create(organization=organization, url=receiver.url, actor=actor)
    for n in range(6):
        make_customer(org, actor=owner, name=f"Busy {n}")  # 12 deliveries, two endpoints
    for n in range(3):
        make_customer(other_org, actor=outsider, name=f"Quiet {n}")
    deliver_now()
    order = list(
        WebhookAttempt.objects.unscoped().order_by("id").values_list("organization_id", flat=True)
    )
    assert len(order) == 15
    # The quiet organization is served every other attempt until its 3 are out.
    assert order[:6] == [org.pk, other_org.pk] * 3 or order[:6] == [other_org.pk, org.pk] * 3


def test_an_answer_closes_the_circuit(org, owner, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, actor=owner)
    WebhookEndpoint.objects.unscoped().update(timeouts_in_row=3, paused_until=timezone.now())
    make_customer(org, actor=owner, name="Answered Co")
    deliver_now()
    endpoint.refresh_from_db()
    assert (endpoint.timeouts_in_row, endpoint.paused_until) == (0, None)
    assert len(receiver.received) == 1


def test_a_paused_endpoint_is_sent_nothing_until_the_pause_ends(org, owner, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint_create(organization=org, url=receiver.url, actor=owner)
    until = timezone.now() + timedelta(minutes=1)
    WebhookEndpoint.objects.unscoped().update(timeouts_in_row=1, paused_until=until)
    make_customer(org, actor=owner, name="Paused Co")
    deliver_now()
    assert receiver.received == []
    assert next_due() == until
