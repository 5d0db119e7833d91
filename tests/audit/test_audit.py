from __future__ import annotations

import pytest
from django.test import RequestFactory

from audit.models import AuditEntry
from audit.trail.services import Outcome, diff, record

pytestmark = pytest.mark.django_db


def test_record_takes_request_id_address_and_agent_from_the_request(org, owner):
    request = RequestFactory().post("/", HTTP_USER_AGENT="pytest-agent", REMOTE_ADDR="203.0.113.9")
    request.request_id = "req-12345678"

    entry = record(
        action="thing.done", organization=org, actor=owner, resource=org, request=request
    )

    entry = AuditEntry.objects.for_organization(org).get(pk=entry.pk)
    assert entry.actor_type == "user"
    assert entry.actor_label == owner.email
    assert entry.ip_address == "203.0.113.9"
    assert entry.user_agent == "pytest-agent"
    assert entry.request_id == "req-12345678"
    assert entry.resource_type == "organization"
    assert entry.resource_id == str(org.pk)


def test_a_request_through_the_stack_is_picked_up_without_passing_it(owner_client, org):
    response = owner_client.post(
        "/settings/api-keys/", {"name": "from-the-stack"}, HTTP_USER_AGENT="agent/1.0"
    )

    entry = AuditEntry.objects.for_organization(org).get(action="api_token.created")
    assert entry.user_agent == "agent/1.0"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.ip_address == "127.0.0.1"


def test_system_actions_are_marked(org):
    entry = record(action="customer.purged", organization=org, resource_label="old")
    assert entry.is_system
    assert entry.actor_label == "system"


def test_diff_lists_only_changed_fields():
    assert diff({"a": 1, "b": "x"}, {"a": 2, "b": "x"}) == {"a": [1, 2]}


def test_the_model_refuses_update_and_delete(org):
    entry = record(action="a", organization=org)
    entry.action = "b"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.for_organization(org).update(action="c")
    with pytest.raises(PermissionError):
        AuditEntry.objects.for_organization(org).delete()


def test_the_admin_shows_entries_read_only(client, org, owner):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    entry = record(action="a", organization=org, outcome=Outcome.DENIED)
    client.force_login(owner)

    assert client.get("/admin/audit/auditentry/").status_code == 200
    change = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert change.status_code == 200
    assert b'name="action"' not in change.content  # no editable field
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
