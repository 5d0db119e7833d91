"""Lifecycle webhooks against a real receiver on loopback: signed and verifiable with
standardwebhooks, retried through failures and a receiver that dies, in order per customer,
nothing for a rolled-back change, private destinations refused, secrets never recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditEntry
from customers.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from customers.platform.errors import Invalid
from customers.services import (
    customer_reactivate,
    customer_suspend,
    customer_update,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
)
from customers.webhooks.delivery import claim, deliver_now, send
from customers.webhooks.registry import EVENT_TYPES, PAYLOAD_SCHEMA
from tests.factories import make_customer
from tests.figures import count

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def figures(db):
    """What each test sent, for the figures printed at the end of the run."""
    yield
    count("webhooks: events written", WebhookEvent.objects.unscoped().count())
    attempts = WebhookAttempt.objects.unscoped()
    count("webhooks: delivery attempts made", attempts.count())
    count(
        "webhooks: failed attempts (retried or given up)", attempts.filter(succeeded=False).count()
    )
    marked_twice = sum(
        d.attempts > d.attempt_log.count() for d in WebhookDelivery.objects.unscoped()
    )
    count("webhooks: deliveries marked more often than attempted", marked_twice)


@pytest.fixture
def hooked(org, owner, receiver):
    """An endpoint on the receiver, subscribed to everything, and its secret."""
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
    return endpoint, secret


def later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def test_a_created_customer_reaches_the_receiver_signed(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    endpoint, secret = hooked
    with django_capture_on_commit_callbacks(execute=True):
        customer = make_customer(org, actor=owner, name="Hooked Co")

    [event] = receiver.events(secret)  # verified by standardwebhooks, or this raises
    assert event["type"] == "customer.created"
    assert event["sequence"] == 1
    assert event["data"]["customer_id"] == str(customer.pk)
    assert event["data"]["customer"]["name"] == "Hooked Co"  # the API's shape
    assert set(PAYLOAD_SCHEMA["required"]) <= set(event)
    headers = receiver.received[0]["headers"]
    assert headers["webhook-id"] == event["id"]
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(receiver.received[0]["body"], headers)
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_500_three_times_then_200_is_delivered_once_with_three_failures_logged(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    endpoint, secret = hooked
    receiver.answers = [500, 500, 500]
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(org, actor=owner, name="Flaky Co")
    for wait in (6, 45, 190):  # past each retry (5 s, then 30 s, then 2 min, ±10 %)
        with later(wait):
            deliver_now()
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    attempts = list(WebhookAttempt.objects.unscoped().filter(delivery=delivery).order_by("id"))
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [a.succeeded for a in attempts] == [False, False, False, True]
    assert len({r["headers"]["webhook-id"] for r in receiver.received}) == 1
    assert len(receiver.delivered(secret)) == 1


def test_a_receiver_killed_mid_burst_loses_nothing_and_duplicates_nothing(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    _, secret = hooked
    customers = [make_customer(org, actor=owner, name=f"Burst {n}") for n in range(3)]
    deliver_now()
    receiver.stop()  # killed: connections are refused from here on
    with django_capture_on_commit_callbacks(execute=True):
        for customer in customers:
            customer_suspend(customer=customer, actor=owner)
    receiver.start()  # back, on the same port
    for wait in (6, 40):
        with later(wait):
            deliver_now()

    sent = WebhookEvent.objects.for_organization(org).count()
    kept = receiver.delivered(secret)
    assert len(kept) == sent  # nothing lost
    assert len({e["id"] for e in kept}) == len(kept)  # nothing twice, after de-duplication
    assert sorted(e["sequence"] for e in kept) == list(range(1, sent + 1))  # no gap
    assert (
        WebhookAttempt.objects.unscoped().filter(succeeded=False).exists()
    )  # it did fail meanwhile
    count("webhooks: receivers killed", 1)
    count("webhooks: events lost", sent - len(kept))
    count("webhooks: duplicates after de-duplication", len(kept) - len({e["id"] for e in kept}))


def test_a_rolled_back_change_sends_nothing(org, owner, receiver, hooked):
    before = WebhookEvent.objects.unscoped().count()

    def change_then_fail() -> None:
        with transaction.atomic():
            make_customer(org, actor=owner, name="Never Co")
            raise RuntimeError("the request failed after the service")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert WebhookEvent.objects.unscoped().count() == before
    assert WebhookDelivery.objects.unscoped().count() == 0
    deliver_now()
    assert receiver.received == []


def test_events_for_one_customer_arrive_in_order_others_do_not_wait(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    _, secret = hooked
    slow = make_customer(org, actor=owner, name="Slow Co")
    fast = make_customer(org, actor=owner, name="Fast Co")
    deliver_now()
    receiver.received.clear()
    receiver.answers = [503]  # the first delivery (slow's suspension) fails once
    with django_capture_on_commit_callbacks(execute=True):
        customer_suspend(customer=slow, actor=owner)
        customer_update(
            customer=slow, actor=owner, expected_version=None, changes={"name": "Slow Co 2"}
        )
        customer_suspend(customer=fast, actor=owner)
    # While slow's first event waits for its retry, its second waits behind it; fast's goes.
    arrived = [(r["answered"], r["body"]) for r in receiver.received]
    assert [code for code, _ in arrived] == [503, 200]
    assert "Fast Co" in arrived[1][1]
    with later(6):
        deliver_now()
    kept = [e for e in receiver.delivered(secret) if e["data"]["customer_id"] == str(slow.pk)]
    assert [e["type"] for e in kept] == ["customer.suspended", "customer.updated"]
    assert kept[0]["sequence"] < kept[1]["sequence"]


def test_a_worker_that_dies_mid_send_leaves_it_to_be_sent_again(org, owner, receiver, hooked):
    endpoint, secret = hooked
    make_customer(org, actor=owner, name="Crash Co")
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    claimed = claim(delivery.pk, timezone.now())
    send(claimed)  # sent, then the worker dies before marking it
    assert claim(delivery.pk, timezone.now()) is None  # another worker cannot take it yet
    with later(60):  # the claim ran out
        assert deliver_now() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1  # marked once
    assert len(receiver.received) == 2
    assert len(receiver.delivered(secret)) == 1  # one, after de-duplication


def test_410_disables_the_endpoint_and_tells_the_owners(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    endpoint, _ = hooked
    receiver.answers = [410]
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(org, actor=owner, name="Gone Co")
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "410" in endpoint.disabled_reason
    assert any("disabled" in m.subject for m in mail.outbox if owner.email in m.to)
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.FAILED


def test_three_days_of_failures_disable_the_endpoint(org, owner, receiver, hooked):
    endpoint, _ = hooked
    receiver.answers = [500] * 50
    make_customer(org, actor=owner, name="Down Co")
    deliver_now()
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since is not None
    for hours in (20, 40, 60, 72.1):  # failures keep coming, never a day apart
        with later(hours * 3600):
            make_customer(org, actor=owner, name=f"Still Down Co {hours}")
            deliver_now()
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "3 days" in endpoint.disabled_reason


def test_a_delivery_gives_up_after_24_hours(org, owner, receiver, hooked):
    endpoint, _ = hooked
    receiver.answers = [500] * 50
    make_customer(org, actor=owner, name="Never Up Co")
    deliver_now()
    with later(24 * 3600 + 60):
        deliver_now()
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 2


def test_during_a_rotation_both_secrets_sign(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    endpoint, old = hooked
    new = endpoint_rotate_secret(endpoint=endpoint, actor=owner)
    assert new != old
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(org, actor=owner, name="Rotated Co")
    assert receiver.events(old)
    assert receiver.events(new)
    with later(25 * 3600):  # the overlap is over: only the new secret signs
        receiver.received.clear()
        make_customer(org, actor=owner, name="After Co")
        deliver_now()
        assert receiver.events(new)
        with pytest.raises(Exception, match="signature"):
            receiver.events(old)


def test_secrets_are_never_recorded_or_stored_in_the_clear(org, owner, receiver):
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
    rotated = endpoint_rotate_secret(endpoint=endpoint, actor=owner)
    endpoint.refresh_from_db()
    raw = secret.removeprefix("whsec_")
    for value in (secret, raw, rotated, rotated.removeprefix("whsec_")):
        assert value not in endpoint.secret_encrypted
        assert value not in endpoint.previous_secret_encrypted
        for entry in AuditEntry.objects.unscoped().all():
            assert value not in str(entry.changes)
            assert value not in entry.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://100.100.100.200/latest/meta-data/",
        "http://[2002:a9fe:a9fe::]/hooks",
        "http://[fec0::1]/hooks",
        "http://[::1/hooks",
        "http://example.com:99999/hooks",
        "ftp://example.com/hooks",
        "file:///etc/passwd",
    ],
)
def test_private_loopback_and_metadata_destinations_are_refused(org, owner, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(Invalid):
        endpoint_create(organization=org, url=url, actor=owner)
    assert not WebhookEndpoint.objects.unscoped().exists()
    assert (
        AuditEntry.objects.unscoped()
        .filter(action="webhook_endpoint.created", outcome="failure")
        .exists()
    )


def test_a_destination_that_turns_private_is_refused_at_delivery(
    org, owner, receiver, hooked, settings
):
    make_customer(org, actor=owner, name="Rebound Co")
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # as if its DNS now pointed at loopback
    deliver_now()
    attempt = WebhookAttempt.objects.unscoped().get()
    assert attempt.status_code is None
    assert "private" in attempt.error
    assert receiver.received == []


def test_subscriptions_and_a_disabled_endpoint(
    org, owner, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = endpoint_create(
        organization=org, url=receiver.url, actor=owner, event_types=["customer.suspended"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer = make_customer(org, actor=owner, name="Picky Co")
        customer_suspend(customer=customer, actor=owner)
    assert receiver.types() == ["customer.suspended"]
    with pytest.raises(Invalid, match="Unknown event types"):
        endpoint_update(endpoint=endpoint, changes={"event_types": ["nope"]}, actor=owner)

    endpoint_update(endpoint=endpoint, changes={"enabled": False}, actor=owner)
    receiver.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_reactivate(customer=customer, actor=owner)
        customer_suspend(customer=customer, actor=owner)
    deliver_now()
    assert receiver.received == []  # a disabled endpoint is sent nothing
    waiting = WebhookDelivery.objects.unscoped().filter(endpoint=endpoint, status="pending")
    assert waiting.count() == 1  # the suspension waits for it, in order, to be enabled again


def test_every_event_type_is_documented():
    for name, spec in EVENT_TYPES.items():
        assert spec.description.endswith("."), name
        assert spec.version >= 1
    assert set(PAYLOAD_SCHEMA["properties"]["type"]["enum"]) == set(EVENT_TYPES)


def test_quota_exceeded_is_announced_once_per_window(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    from billing.services import consume, override_set, refused

    _, secret = hooked
    customer = make_customer(org, actor=owner, name="Busy Co")
    override_set(customer=customer, dimension="events_per_day", value=1, reason="test", actor=owner)
    assert consume(customer, "events_per_day").allowed
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            refusal = consume(customer, "events_per_day")
            assert not refusal.allowed
            refused(customer, refusal, "events.refused", None)
    deliver_now()
    exceeded = [e for e in receiver.events(secret) if e["type"] == "quota.exceeded"]
    assert len(exceeded) == 1
    assert exceeded[0]["data"]["changes"]["dimension"] == [None, "events_per_day"]
    with later(24 * 3600 + 60):  # the next day is a new window: it can be announced again
        refusal = consume(customer, "events_per_day")
        consume(customer, "events_per_day")
        refused(customer, consume(customer, "events_per_day"), "events.refused", None)
        assert WebhookEvent.objects.unscoped().filter(type="quota.exceeded").count() == 2
    assert refusal.allowed


def test_an_expired_invitation_is_announced_once_and_a_resend_rearms_it(
    org, owner, receiver, hooked
):
    from django.core.management import call_command

    from customers.services import invite_resend, invite_send

    _, secret = hooked
    customer = make_customer(org, actor=owner, name="Slow Admin Co")
    invitation = invite_send(customer=customer, email="late@slow.test", role="user", actor=owner)
    with later(8 * 24 * 3600):  # past the 7-day link
        call_command("housekeeping", stdout=open("/dev/null", "w"))  # noqa: SIM115
        call_command("housekeeping", stdout=open("/dev/null", "w"))  # noqa: SIM115
        # (verified while it is "then": a signature's timestamp must be recent)
        expired = [e for e in receiver.events(secret) if e["type"] == "invitation.expired"]
    assert len(expired) == 1
    assert expired[0]["data"]["resource"]["id"] == str(invitation.pk)
    invite_resend(invitation=invitation, actor=owner)
    with later(16 * 24 * 3600):
        call_command("housekeeping", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert WebhookEvent.objects.unscoped().filter(type="invitation.expired").count() == 2


def test_a_connection_reported_expired_sends_status_changed(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    from customers.platform.errors import Conflict
    from customers.services import connection_set_status
    from tests.factories import make_connection

    _, secret = hooked
    connection = make_connection(make_customer(org, actor=owner, name="Linked Co"))
    with django_capture_on_commit_callbacks(execute=True):
        connection_set_status(connection=connection, status="expired", actor=None, detail="401")
        connection_set_status(connection=connection, status="expired", actor=None)  # no change
    changed = [e for e in receiver.events(secret) if e["type"] == "connection.status_changed"]
    assert len(changed) == 1
    assert changed[0]["data"]["changes"]["status"] == ["connected", "expired"]
    with pytest.raises(Invalid):
        connection_set_status(connection=connection, status="revoked", actor=None)
    connection.status = "revoked"
    connection.save()
    with pytest.raises(Conflict):
        connection_set_status(connection=connection, status="connected", actor=None)


def test_a_redirect_is_an_answer_not_a_new_destination(org, owner, receiver, hooked):
    receiver.answers = [302]
    make_customer(org, actor=owner, name="Moved Co")
    deliver_now()
    attempt = WebhookAttempt.objects.unscoped().get()
    assert attempt.status_code == 302
    assert attempt.succeeded is False
    assert len(receiver.received) == 1  # nothing followed it
    assert len(attempt.response_excerpt) <= 4096


def test_delivery_connects_to_the_address_it_checked(org, owner, settings, monkeypatch):
    """DNS rebinding: the name is resolved once, checked, and that address is the one used."""
    import socket

    from customers.platform.outbound import transport

    settings.WEBHOOKS_ALLOW_PRIVATE = True  # to save the endpoint without DNS
    endpoint, _ = endpoint_create(organization=org, url="http://hooks.rebind.test/x", actor=owner)
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])  # public first, then loopback
    resolved, connected = [], []

    def getaddrinfo(host, port, *args, **kwargs):
        address = next(answers)
        resolved.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def create_connection(address, *args, **kwargs):
        connected.append(address[0])
        raise ConnectionRefusedError("stub")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(transport.socket, "create_connection", create_connection)
    make_customer(org, actor=owner, name="Rebind Co")
    deliver_now()
    assert resolved == ["93.184.215.14"]
    assert connected == ["93.184.215.14"]  # never the loopback address it resolves to later
    assert endpoint.deliveries.count() == 1


def test_an_unexpected_error_is_recorded_and_the_worker_goes_on(org, owner, receiver, hooked):
    endpoint, _ = hooked
    _, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
    WebhookEndpoint.objects.unscoped().filter(pk=endpoint.pk).update(secret_encrypted="garbled")
    make_customer(org, actor=owner, name="Garbled Co")
    assert deliver_now() == 2
    broken = WebhookAttempt.objects.unscoped().get(delivery__endpoint=endpoint)
    assert broken.error.startswith("Internal error")
    assert len(receiver.delivered(secret)) == 1  # the other endpoint still got its delivery


def test_events_while_disabled_wait_and_go_out_in_order(
    org, owner, receiver, hooked, django_capture_on_commit_callbacks
):
    endpoint, secret = hooked
    with django_capture_on_commit_callbacks(execute=True):
        customer = make_customer(org, actor=owner, name="Paused Co")
    endpoint_update(endpoint=endpoint, changes={"enabled": False}, actor=owner)
    with django_capture_on_commit_callbacks(execute=True):
        customer_suspend(customer=customer, actor=owner)  # while it is off: waits
    assert len(receiver.received) == 1
    with django_capture_on_commit_callbacks(execute=True):
        endpoint_update(endpoint=endpoint, changes={"enabled": True}, actor=owner)
        customer_update(
            customer=customer, actor=owner, expected_version=None, changes={"name": "Back Co"}
        )
    kept = receiver.delivered(secret)
    assert [e["type"] for e in kept] == [
        "customer.created",
        "customer.suspended",
        "customer.updated",
    ]
    assert [e["sequence"] for e in kept] == [1, 2, 3]


def test_a_replay_during_an_attempt_neither_doubles_it_nor_loses_its_result(
    org, owner, receiver, hooked
):
    from customers.services import delivery_replay
    from customers.webhooks.delivery import record_outcome

    endpoint, _ = hooked
    make_customer(org, actor=owner, name="Twice Co")
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    claimed = claim(delivery.pk, timezone.now())
    outcome = send(claimed)  # in flight when someone presses Replay
    assert delivery_replay(delivery=delivery, actor=owner) == delivery  # still pending: itself
    record_outcome(claimed, outcome)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.SUCCEEDED, 1)
    assert deliver_now() == 0
    assert WebhookDelivery.objects.unscoped().count() == 1


def test_an_attempt_recorded_after_its_endpoint_was_deleted_is_dropped(
    org, owner, receiver, hooked
):
    from customers.services import endpoint_delete
    from customers.webhooks.delivery import record_outcome

    endpoint, _ = hooked
    make_customer(org, actor=owner, name="Gone Co")
    delivery = WebhookDelivery.objects.unscoped().get(endpoint=endpoint)
    claimed = claim(delivery.pk, timezone.now())
    outcome = send(claimed)
    endpoint_delete(endpoint=endpoint, actor=owner)
    record_outcome(claimed, outcome)  # no foreign key to a deleted delivery, no error
    assert not WebhookAttempt.objects.unscoped().exists()


def test_a_blocked_delivery_does_not_wake_the_worker_early(org, owner, receiver, hooked):
    from customers.webhooks.delivery import next_due

    endpoint, _ = hooked
    receiver.answers = [500]
    customer = make_customer(org, actor=owner, name="Blocked Co")
    deliver_now()  # fails: retried in about 5 s
    customer_suspend(customer=customer, actor=owner)  # waits behind it
    first = WebhookDelivery.objects.unscoped().get(endpoint=endpoint, sequence=1)
    assert next_due() == first.next_attempt_at  # not the blocked one's (earlier) time


def test_a_receivers_answer_is_stored_without_nul_and_within_4_kb(org, owner, hooked, monkeypatch):
    from customers.webhooks import sending as delivering

    monkeypatch.setattr(delivering, "post", lambda *a: (200, b"ok\x00" + b"x" * 4093))
    make_customer(org, actor=owner, name="Nul Co")
    deliver_now()
    attempt = WebhookAttempt.objects.unscoped().get()
    assert "\x00" not in attempt.response_excerpt
    assert len(attempt.response_excerpt) <= 4096


def test_one_failure_after_a_quiet_gap_does_not_disable(org, owner, receiver, hooked):
    endpoint, _ = hooked
    receiver.answers = [500, 500]
    make_customer(org, actor=owner, name="Quiet Co")
    deliver_now()  # a failure starts the count…
    WebhookDelivery.objects.unscoped().update(status=WebhookDelivery.Status.FAILED)
    with later(5 * 24 * 3600):  # …then nothing for days; one more failure is a fresh count
        make_customer(org, actor=owner, name="Quiet Again Co")
        deliver_now()
        endpoint.refresh_from_db()
        assert endpoint.enabled
        assert endpoint.failing_since > timezone.now() - timedelta(minutes=1)
