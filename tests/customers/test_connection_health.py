"""Connection health and customer health scores: the rules on fixed facts, activity over the
API, the events and alerts a change brings, the list column and filter, the detail panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from audit.activity.ingestion import executions_ingest
from audit.models import AuditEntry
from customers.health.rules import (
    ConnectionFacts,
    ConnectionState,
    connection_health,
    customer_score,
)
from customers.models import ConnectionActivity, Customer
from customers.services import (
    api_token_create,
    connection_set_status,
    customers_health_refresh_due,
    scrub,
)
from tests.api.conftest import ApiClient
from tests.factories import make_connection, make_customer, make_seat

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def facts(**fields) -> ConnectionFacts:
    return ConnectionFacts(**{"status": "connected", "connected_at": NOW, **fields})


def health(**fields) -> str | None:
    return connection_health(facts(**fields), now=NOW, idle_days=30)


def test_connection_health_rules_in_order():
    hour = timedelta(hours=1)
    assert health() == "healthy"
    assert health(status="revoked") is None
    assert health(status="expired", errors_7d=3, last_error_at=NOW) == "relink_needed"
    assert health(status="error") == "degraded"
    assert health(errors_7d=1, last_error_at=NOW, last_success_at=NOW - hour) == "degraded"
    assert health(errors_7d=1, last_error_at=NOW - hour, last_success_at=NOW) == "healthy"
    assert (
        health(errors_7d=2, successes_7d=8, last_error_at=NOW - hour, last_success_at=NOW)
        == "degraded"
    )  # 20 % of 10 outcomes failed
    assert health(connected_at=NOW - timedelta(days=31)) == "idle"
    assert health(connected_at=NOW - timedelta(days=90), last_used_at=NOW) == "healthy"


def test_the_score_and_its_reasons():
    score = customer_score(
        connections=[ConnectionState("Shopify", "relink_needed", NOW - timedelta(days=3))],
        executions_finished=100,
        executions_failed=12,
        usage_percent=85,
        usage_label="Events per day",
        now=NOW,
    )
    assert score.value == 100 - 25 - 6 - 25
    assert score.reasons == [
        "Shopify connection has needed relinking for 3 days",
        "Events per day at 85% of its limit",
        "12% of executions failed this week",
    ]
    assert score.needs_attention
    fine = customer_score(
        connections=[ConnectionState("Slack", "healthy", None)],
        executions_finished=3,
        executions_failed=3,  # fewer than 5 finished: no rate yet
        usage_percent=50,
        now=NOW,
    )
    assert (fine.value, fine.reasons, fine.needs_attention) == (100, [], False)
    many = customer_score(
        connections=[ConnectionState(f"App {i}", "relink_needed", NOW) for i in range(4)],
        executions_finished=0,
        executions_failed=0,
        usage_percent=100,
        now=NOW,
    )
    assert many.value == 100 - 50 - 35  # connections cost at most 50
    assert len(many.reasons) == 5


SECRET_LIKE = {
    '{"password": "hunter2", "user":"bob"}': '{"password": [redacted], "user":"bob"}',
    'Error: {"access_token":"ya29.abc","expires_in":3599}': (
        'Error: {"access_token":[redacted],"expires_in":3599}'
    ),
    "Authorization: Basic dXNlcjpodW50ZXIy": "Authorization: [redacted] [redacted]",
    "https://bob:hunter2@api.example.com/v1": "https://[redacted]@api.example.com/v1",
    "pwd=hunter2": "pwd=[redacted]",
    "passphrase: hunter2": "passphrase: [redacted]",
    "PASSWORD hunter2": "PASSWORD [redacted]",
    "cookie: sessionid=abc123xyz": "cookie: [redacted]",
    "private_key=-----BEGIN RSA PRIVATE KEY-----MIIEow": "private_key=[redacted]",
    "refresh failed: Bearer abc.def.ghi": "refresh failed: Bearer [redacted]",
    # Harmless words stay.
    "HTTP error code: 429 Too Many Requests": "HTTP error code: 429 Too Many Requests",
    "error_code=INVALID_SESSION_ID": "error_code=INVALID_SESSION_ID",
    "Connection to hubspot-integration-production.example.com failed": (
        "Connection to hubspot-integration-production.example.com failed"
    ),
    "the password was rejected": "the password was rejected",
}


@pytest.mark.parametrize("message", sorted(SECRET_LIKE))
def test_each_kind_of_secret_is_cut_and_harmless_words_stay(message):
    assert scrub(message) == SECRET_LIKE[message]


def test_error_messages_lose_anything_secret_like():
    text = scrub(
        "401 from api: token=abc123 Bearer eyJhbGciOi.x.y sk_live_0123456789abcdefghijklmn"
    )
    assert "abc123" not in text
    assert "eyJ" not in text
    assert "sk_live" not in text
    assert text.startswith("401 from api:")
    assert len(scrub("x" * 500 + " word")) <= 200


@pytest.fixture
def setup(org, owner):
    customer = make_customer(org, actor=owner, name="Shop Co", plan="Pro")
    make_seat(customer, role="superuser", email="admin@shop.test")
    connection = make_connection(customer, app="Shopify")
    api = ApiClient(api_token_create(organization=org, name="runtime", actor=owner)[1])
    path = f"/customer/{customer.pk}/connections/{connection.pk}/activity"
    return customer, connection, api, path


def test_activity_in_a_batch_is_counted_and_sets_health(setup, org):
    customer, connection, api, path = setup
    now = timezone.now()
    batch = {
        "items": [
            {"outcome": "success", "occurred_at": (now - timedelta(minutes=5)).isoformat()},
            {"outcome": "error", "error": "HTTP 500 from Shopify, key=hunter2"},
        ]
    }
    response = api.post(path, batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["health"] == "degraded"
    assert body["errors_7d"] == 1
    assert body["last_error"] == "HTTP 500 from Shopify, key=[redacted]"
    assert body["last_success_at"] is not None
    assert api.post(path, {"outcome": "success"}).json()["health"] == "healthy"
    counted = ConnectionActivity.objects.for_organization(org).filter(connection=connection)
    assert sum(counted.values_list("used", flat=True)) == 3
    changes = AuditEntry.objects.for_organization(org).filter(action="connection.health_changed")
    assert [e.changes["health"] for e in changes.order_by("id")] == [
        ["healthy", "degraded"],
        ["degraded", "healthy"],
    ]
    customer.refresh_from_db()
    assert customer.health_score == 100
    assert customer.health_checked_at is not None


def test_a_batch_keeps_its_order_when_it_gives_no_times(setup):
    _, _, api, path = setup
    batch = {"items": [{"outcome": "error", "error": "timeout"}, {"outcome": "success"}]}
    assert api.post(path, batch).json()["health"] == "healthy"  # the success came last


def test_activity_is_refused_clearly(setup, other_org, outsider, owner):
    customer, connection, api, path = setup
    maybe = api.post(path, {"outcome": "maybe"})
    assert maybe.status_code == 422
    assert "items" not in maybe.text  # one clear complaint, about the outcome
    both = api.post(path, {"outcome": "success", "items": [{"outcome": "error"}]})
    assert both.status_code == 422
    assert "or items, not both" in both.text
    assert api.post(path, {"items": []}).status_code == 422
    ancient = api.post(path, {"outcome": "success", "occurred_at": "2001-01-01T00:00:00Z"})
    assert ancient.status_code == 422
    assert "within the last 30 days" in ancient.text
    theirs = ApiClient(api_token_create(organization=other_org, name="x", actor=outsider)[1])
    assert theirs.post(path, {"outcome": "success"}).status_code == 404
    own = ApiClient(
        api_token_create(
            organization=customer.organization, customer=customer, name="c", actor=owner
        )[1],
        header="Fastly-Key",
    )
    assert own.post(path, {"outcome": "success"}).status_code == 403
    api.post(f"/customer/{customer.pk}/connections/{connection.pk}/revoke")
    refused = api.post(path, {"outcome": "success"})
    assert refused.status_code == 409
    refusals = AuditEntry.objects.for_organization(customer.organization).filter(
        action="connection.activity_reported"
    )
    assert [e.outcome for e in refusals] == ["failure", "failure"]  # too old; revoked
    assert "revoked" in refusals.order_by("-id").first().message


def test_relink_needed_sends_one_event_and_one_email_to_the_customers_admins(
    setup, org, owner, receiver, django_capture_on_commit_callbacks
):
    from customers.services import endpoint_create
    from customers.webhooks.delivery import deliver_now

    customer, connection, _api, _path = setup
    _, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        connection_set_status(connection=connection, status="expired", actor=owner)
    assert [m.to for m in mail.outbox] == [["admin@shop.test"]]
    assert mail.outbox[0].subject == "Reconnect Shopify for Shop Co"
    from customers.services import connection_relink_alert

    assert connection_relink_alert.call(str(connection.pk)) == 0  # a retried task: told once
    assert "/portal/connections/" in mail.outbox[0].body
    deliver_now()
    changed = [e for e in receiver.events(secret) if e["type"] == "connection.status_changed"]
    assert len(changed) == 1
    assert changed[0]["data"]["changes"]["health"] == ["healthy", "relink_needed"]
    customer.refresh_from_db()
    assert customer.health_score == 75
    assert customer.health_reasons == ["Shopify connection has needed relinking since today"]
    assert AuditEntry.objects.for_organization(org).filter(action="connection.relink_alert_emailed")


def test_time_alone_makes_a_connection_idle_and_failures_count(org, owner):
    customer = make_customer(org, actor=owner, name="Quiet Co")
    make_connection(customer, app="Slack", connected_at=timezone.now())
    item = {
        "workflow": "sync",
        "triggered_by": "scheduler",
        "status": "failed",
        "started_at": timezone.now(),
    }
    executions_ingest(customer=customer, items=[item] * 2 + [{**item, "status": "succeeded"}] * 8)
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        # Executions a month old no longer count; the connection went idle.
        assert customers_health_refresh_due() >= 1
    customer.refresh_from_db()
    assert customer.health_reasons == ["Slack connection is idle: unused for 31 days"]
    assert customer.health_score == 95
    customers_health_refresh_due()  # checked an hour ago or less: not again
    executions_ingest(customer=customer, items=[item] * 2 + [{**item, "status": "succeeded"}] * 8)
    Customer.objects.for_organization(org).filter(pk=customer.pk).update(health_checked_at=None)
    customers_health_refresh_due()
    customer.refresh_from_db()
    assert "20% of executions failed this week" in customer.health_reasons


def test_the_list_sorts_and_filters_by_health(owner_client, org, owner):
    fine = make_customer(org, actor=owner, name="Fine Co")
    broken = make_customer(org, actor=owner, name="Broken Co")
    make_connection(broken, app="HubSpot")
    connection = broken.connections.first()
    connection_set_status(connection=connection, status="expired", actor=owner)
    page = owner_client.get("/settings/customers/?sort=health")
    names = [c.name for c in page.context["page"].object_list]
    assert names.index("Broken Co") < names.index("Fine Co")
    attention = owner_client.get("/settings/customers/?attention=on")
    assert [c.name for c in attention.context["page"].object_list] == ["Broken Co"]
    assert "HubSpot connection has needed relinking since today" in attention.content.decode()
    detail = owner_client.get(broken.get_absolute_url()).content.decode()
    assert "75 / 100" in detail
    assert "Relink needed" in detail
    assert fine.health_score == 100


def test_a_suspended_customers_admins_are_not_told_to_relink(
    setup, owner, django_capture_on_commit_callbacks
):
    from customers.services import customer_suspend

    customer, connection, _api, _path = setup
    customer_suspend(customer=customer, actor=owner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        connection_set_status(connection=connection, status="expired", actor=owner)
    assert mail.outbox == []


def test_attention_off_in_the_url_means_unticked(owner_client, org, owner):
    make_customer(org, actor=owner, name="Fine Co")
    page = owner_client.get("/settings/customers/?attention=off")
    assert "Fine Co" in [c.name for c in page.context["page"].object_list]
    assert 'name="attention" id="id_attention" checked' not in page.content.decode()


def test_a_customer_not_checked_yet_shows_no_score(owner_client, org, owner):
    customer = make_customer(org, actor=owner, name="New Co")
    assert customer.health_checked_at is None
    detail = owner_client.get(customer.get_absolute_url()).content.decode()
    assert "not checked yet" in detail
    assert "100 / 100" not in detail
    listing = owner_client.get("/settings/customers/?q=New").content.decode()
    assert 'title="Not checked yet">—<' in listing
