"""Settings → Webhooks in the console: add an endpoint (its secret shown once), the delivery
log with its filters, replay, test event, rotation; viewers read, other organizations get 404."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django.utils.html import escape

from customers.models import WebhookDelivery, WebhookEndpoint
from customers.services import endpoint_create
from customers.webhooks.delivery import deliver_now
from customers.webhooks.forms import WebhookEndpointForm
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(org, owner, receiver):
    return endpoint_create(organization=org, url=receiver.url, actor=owner)[0]


def write_urls(endpoint, delivery_id=1):
    base = f"/settings/webhooks/{endpoint.pk}"
    return [
        f"{base}/edit",
        f"{base}/rotate",
        f"{base}/test",
        f"{base}/delete",
        f"{base}/deliveries/{delivery_id}/replay",
        f"{base}/replay-since",
    ]


def test_add_an_endpoint_and_see_its_secret_once(owner_client, receiver):
    response = owner_client.post(
        "/settings/webhooks/",
        {"url": receiver.url, "description": "CRM", "event_types": ["customer.created"]},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.unscoped().get()
    assert endpoint.event_types == ["customer.created"]
    page = owner_client.get(response["Location"])
    assert b"whsec_" in page.content
    assert page["Cache-Control"] == "no-store"
    assert b"whsec_" not in owner_client.get(response["Location"]).content  # once
    listing = owner_client.get("/settings/webhooks/").content.decode()
    assert receiver.url in listing


def test_a_private_address_is_explained_on_the_form(owner_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = owner_client.post("/settings/webhooks/", {"url": "http://10.0.0.5/hook"})
    assert response.status_code == 422
    assert "private, loopback or link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.unscoped().exists()


def test_the_log_shows_attempts_and_replay_sends_again(
    org, owner, owner_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(org, actor=owner, name="Logged Co")
    page = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "customer.created" in page
    assert "HTTP 500" in page
    assert "Retrying" in page

    delivery = WebhookDelivery.objects.unscoped().get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/settings/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.received) == 2

    only_tests = owner_client.get(
        f"/settings/webhooks/{endpoint.pk}/?type=webhook.test",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="results",
    ).content.decode()
    assert "<html" not in only_tests
    assert "No deliveries match" in only_tests


def test_a_replay_is_a_delivery_of_its_own_and_history_stays(
    org, owner, owner_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("One Co", "Two Co", "Three Co"):
            make_customer(org, actor=owner, name=name)
    second = WebhookDelivery.objects.unscoped().get(sequence=2)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/settings/webhooks/{endpoint.pk}/deliveries/{second.pk}/replay")

    second.refresh_from_db()
    assert (second.status, second.attempts) == (WebhookDelivery.Status.SUCCEEDED, 1)
    replay = WebhookDelivery.objects.unscoped().get(replay_of=second)
    assert (replay.sequence, replay.status, replay.attempts) == (4, "succeeded", 1)
    ids = [r["headers"]["webhook-id"] for r in receiver.received]
    assert ids.count(second.event_id) == 2  # the same webhook-id: receivers de-duplicate
    page = owner_client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert [d.sequence for d in page.context["page"].rows] == [4, 3, 2, 1]
    assert "replay of 2" in page.content.decode()


def test_the_log_shows_every_attempt_and_the_signed_body(
    org, owner, owner_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [503, 500]
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(org, actor=owner, name="Thrice Co")
    delivery = WebhookDelivery.objects.unscoped().get()
    for _ in range(2):
        WebhookDelivery.objects.unscoped().update(next_attempt_at=timezone.now())
        deliver_now()
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    page = owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    for answer in ("HTTP 503", "HTTP 500", "HTTP 200"):
        assert answer in page
    body = receiver.received[-1]["body"]
    assert escape(body) in page  # exactly what was signed and sent


def test_send_test_event_and_replay_since(
    org, owner, owner_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/settings/webhooks/{endpoint.pk}/test")
    assert receiver.types() == ["webhook.test"]
    make_customer(org, actor=owner, name="Replayed Co")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/settings/webhooks/{endpoint.pk}/replay-since", {"since": "2000-01-01T00:00"}
        )
    assert response.status_code == 302
    assert receiver.types().count("customer.created") >= 1
    bad = owner_client.post(f"/settings/webhooks/{endpoint.pk}/replay-since", {"since": "x"})
    assert bad.status_code == 422


def test_viewers_read_and_are_refused_writes(viewer_client, endpoint):
    assert viewer_client.get("/settings/webhooks/").status_code == 200
    page = viewer_client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert page.status_code == 200
    assert b"Add an endpoint" not in viewer_client.get("/settings/webhooks/").content
    assert viewer_client.post("/settings/webhooks/", {"url": "https://x.test/"}).status_code == 403
    for url in write_urls(endpoint):
        assert viewer_client.post(url).status_code == 403, url


def test_another_organizations_endpoint_is_404(outsider_client, endpoint):
    assert outsider_client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    for url in write_urls(endpoint):
        assert outsider_client.post(url).status_code == 404, url
    assert str(endpoint.pk) not in outsider_client.get("/settings/webhooks/").content.decode()


def test_a_refused_replay_keeps_the_endpoints_settings_on_the_page(owner_client, endpoint, owner):
    from customers.services import endpoint_update

    endpoint_update(
        endpoint=endpoint,
        changes={"description": "CRM sync", "event_types": ["customer.created"]},
        actor=owner,
    )
    page = owner_client.post(
        f"/settings/webhooks/{endpoint.pk}/replay-since", {"since": "not a time"}
    ).content.decode()
    assert 'value="CRM sync"' in page  # saving this form must not wipe its settings
    assert 'value="customer.created" id="id_event_types_0" checked' in page


@pytest.mark.parametrize("description", ["CRM\r\nInjected: yes", "CRM\u2028two", "CRM\x01"])
def test_a_description_on_more_than_one_line_is_a_form_error(
    owner_client, endpoint, receiver, description
):
    created = owner_client.post(
        "/settings/webhooks/", {"url": receiver.url, "description": description}
    )
    assert created.status_code == 422
    assert "single line" in created.content.decode()
    edited = owner_client.post(
        f"/settings/webhooks/{endpoint.pk}/edit", {"url": receiver.url, "description": description}
    )
    assert edited.status_code == 422
    assert "single line" in edited.content.decode()
    assert WebhookEndpoint.objects.unscoped().get().description == ""


def test_a_model_rule_a_service_enforces_is_a_form_error_not_a_500(
    owner_client, endpoint, receiver, monkeypatch
):
    """Were the form to let a value through that the model refuses (full_clean in the
    service), it is still shown on the form, as any refusal (customers.services.SERVICE_ERRORS)."""
    field = WebhookEndpointForm.base_fields["description"]
    monkeypatch.setattr(field, "validators", [])
    for url in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/edit"):
        response = owner_client.post(url, {"url": receiver.url, "description": "A\r\nB"})
        assert response.status_code == 422
        assert "single line" in response.content.decode()
    assert WebhookEndpoint.objects.unscoped().get().description == ""
