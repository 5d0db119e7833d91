from __future__ import annotations

import hashlib

import pytest

from audit.models import AuditEntry
from customers.models import ApiToken
from customers.services import api_token_create

pytestmark = pytest.mark.django_db


def test_creating_a_key_shows_the_secret_once_and_stores_only_its_hash(owner_client, org):
    response = owner_client.post("/settings/api-keys/", {"name": "billing-sync"}, follow=True)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_secret"]
    assert secret.startswith("tnt_")
    assert len(secret) >= 40
    token = ApiToken.objects.for_organization(org).get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.prefix, token.name}
    assert secret not in owner_client.get("/settings/api-keys/").content.decode()
    entry = AuditEntry.objects.for_organization(org).get(action="api_token.created")
    assert entry.resource_id == str(token.pk)


def test_a_key_needs_a_name_and_the_form_says_so(owner_client, org):
    response = owner_client.post("/settings/api-keys/", {"name": "  "})
    assert response.status_code == 422
    assert b"This field is required" in response.content
    assert not ApiToken.objects.for_organization(org).exists()


def test_the_list_shows_prefix_name_created_and_last_used(owner_client, org, owner):
    token, _ = api_token_create(organization=org, name="ci-runner", actor=owner)
    content = owner_client.get("/settings/api-keys/").content.decode()
    assert "ci-runner" in content
    assert token.prefix in content
    assert "Never" in content


def test_revoking_a_key(owner_client, org, owner):
    token, _ = api_token_create(organization=org, name="old", actor=owner)

    response = owner_client.post(f"/settings/api-keys/{token.pk}/revoke/")

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.for_organization(org).filter(action="api_token.revoked").exists()
    again = owner_client.post(f"/settings/api-keys/{token.pk}/revoke/", follow=True)
    assert b"already revoked" in again.content


def test_revoke_requires_post(owner_client, org, owner):
    token, _ = api_token_create(organization=org, name="x", actor=owner)
    assert owner_client.get(f"/settings/api-keys/{token.pk}/revoke/").status_code == 405


def test_a_viewer_sees_keys_but_cannot_create_or_revoke(viewer_client, org, owner):
    token, _ = api_token_create(organization=org, name="x", actor=owner)

    page = viewer_client.get("/settings/api-keys/")
    assert page.status_code == 200
    assert b"Create key" not in page.content
    assert b"Revoke" not in page.content
    assert viewer_client.post("/settings/api-keys/", {"name": "y"}).status_code == 403
    assert viewer_client.post(f"/settings/api-keys/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_organizations_key_is_404(outsider_client, org, owner):
    token, _ = api_token_create(organization=org, name="x", actor=owner)
    assert outsider_client.post(f"/settings/api-keys/{token.pk}/revoke/").status_code == 404
    assert token.name not in outsider_client.get("/settings/api-keys/").context["tokens"]


def test_creating_redirects_so_a_reload_creates_no_second_key(owner_client, org):
    response = owner_client.post("/settings/api-keys/", {"name": "once"})
    assert response.status_code == 302
    shown = owner_client.get("/settings/api-keys/")
    assert shown.context["new_secret"]
    assert shown["Cache-Control"] == "no-store"
    # A reload: the page again, without the secret, and still one key.
    reloaded = owner_client.get("/settings/api-keys/")
    assert reloaded.context["new_secret"] is None
    assert ApiToken.objects.for_organization(org).filter(name="once").count() == 1
