"""Webhook endpoints over the API: organization tokens only, another organization's are 404,
the secret is in the creation response only, bad destinations are 422 with a reason."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/tenantry"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Names resolve to a public address without the network; an address is itself."""
    import ipaddress
    import socket

    def resolve(host, port, *args, **kwargs):
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_create_list_get_patch_delete(api):
    created = api.post("/webhook-endpoints", {"url": URL, "event_types": ["customer.created"]})
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    endpoint_id = body["id"]

    listed = api.get("/webhook-endpoints").json()
    assert [e["id"] for e in listed] == [endpoint_id]
    assert "secret" not in listed[0]  # shown once, at creation
    assert "secret" not in api.get(f"/webhook-endpoints/{endpoint_id}").json()

    patched = api.patch(
        f"/webhook-endpoints/{endpoint_id}", {"enabled": False, "description": "CRM"}
    )
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["description"] == "CRM"

    assert api.delete(f"/webhook-endpoints/{endpoint_id}").status_code == 204
    assert api.get(f"/webhook-endpoints/{endpoint_id}").status_code == 404
    actions = set(AuditEntry.objects.unscoped().values_list("action", flat=True))
    assert {"webhook_endpoint.created", "webhook_endpoint.updated"} <= actions
    assert "webhook_endpoint.deleted" in actions
    for entry in AuditEntry.objects.unscoped():
        assert body["secret"] not in str(entry.changes) + entry.message


def test_another_organizations_endpoint_is_404(api, other_api):
    theirs = other_api.post("/webhook-endpoints", {"url": URL}).json()["id"]
    assert api.get(f"/webhook-endpoints/{theirs}").status_code == 404
    assert api.patch(f"/webhook-endpoints/{theirs}", {"enabled": False}).status_code == 404
    assert api.delete(f"/webhook-endpoints/{theirs}").status_code == 404
    assert api.get("/webhook-endpoints").json() == []
    assert api.get("/webhook-endpoints/not-a-uuid").status_code == 404


def test_a_customer_token_is_refused(customer_api):
    assert customer_api.get("/webhook-endpoints").status_code == 403
    assert customer_api.post("/webhook-endpoints", {"url": URL}).status_code == 403


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/x", "loopback"),
        ("http://169.254.169.254/latest", "link-local"),
        ("ftp://example.com/x", "http"),
    ],
)
def test_private_destinations_are_422_with_a_reason(api, settings, url, reason):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = api.post("/webhook-endpoints", {"url": url})
    assert response.status_code == 422
    assert reason in response.json()["detail"]


def test_unknown_event_types_are_422(api):
    response = api.post("/webhook-endpoints", {"url": URL, "event_types": ["customer.nope"]})
    assert response.status_code == 422
    assert "customer.nope" in response.json()["detail"]


def test_the_event_catalogue(api):
    body = api.get("/webhook-event-types").json()
    names = [t["name"] for t in body["event_types"]]
    assert "customer.created" in names
    assert "quota.exceeded" in names
    assert body["payload_schema"]["required"]


def test_the_runtime_reports_a_connections_health(api, other_api, customer_api, customer):
    from tests.factories import make_connection

    connection = make_connection(customer)
    path = f"/customer/{customer.pk}/connections/{connection.pk}/status"
    reported = api.post(path, {"status": "error", "detail": "HTTP 401 from Shopify"})
    assert reported.status_code == 200
    assert reported.json()["status"] == "error"
    assert api.post(path, {"status": "revoked"}).status_code == 422
    assert other_api.post(path, {"status": "connected"}).status_code == 404
    assert customer_api.post(path, {"status": "connected"}).status_code == 403
    entry = AuditEntry.objects.unscoped().get(action="connection.status_changed")
    # One entry for the status and the health it leads to.
    assert entry.changes == {"status": ["connected", "error"], "health": ["healthy", "degraded"]}
    assert reported.json()["health"] == "degraded"
