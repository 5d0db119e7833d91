from __future__ import annotations

import re

import pytest
from django.test import Client

from customers.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def test_no_token_is_401_with_a_json_detail(client):
    response = client.get("/api/v1/organization")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Bearer tnt_not-a-real-token", "Bearer ", "Basic abc"])
def test_a_bad_token_is_401(client, db, header):
    response = client.get("/api/v1/organization", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_bearer_token_sees_its_organization(client, org, secret):
    response = client.get("/api/v1/organization", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(org.pk),
        "name": org.name,
        "slug": org.slug,
        "created_at": org.created_at.isoformat(),
    }


def test_fastly_key_header_works_too(client, org, secret):
    response = client.get("/api/v1/organization", HTTP_FASTLY_KEY=secret)
    assert response.status_code == 200
    assert response.json()["id"] == str(org.pk)


def test_a_revoked_token_is_401(client, org, owner):
    token, secret = api_token_create(organization=org, name="old", actor=owner)
    api_token_revoke(token=token, actor=owner)
    assert client.get("/api/v1/organization", HTTP_FASTLY_KEY=secret).status_code == 401


def test_another_organizations_token_sees_only_its_own(client, org, other_org, outsider):
    _, secret = api_token_create(organization=other_org, name="theirs", actor=outsider)
    body = client.get("/api/v1/organization", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert body["id"] == str(other_org.pk)


def test_use_stamps_last_used(client, org, owner, secret):
    client.get("/api/v1/token", HTTP_FASTLY_KEY=secret)
    token = org.api_tokens.get()
    assert token.last_used_at is not None


def test_unknown_api_path_is_json_404(client, secret):
    response = client.get("/api/v1/nothing-here", HTTP_FASTLY_KEY=secret)
    assert response.status_code == 404


def test_openapi_document_and_docs_page(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Tenantry API"
    assert "/api/v1/organization" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert {"BearerToken", "FastlyKey"} <= set(schemes)
    assert schemes["FastlyKey"]["name"] == "Fastly-Key"


def test_docs_page_reads_the_whole_document_without_javascript(client, db):
    """Every operation and schema of the OpenAPI document is on the page as HTML, each type
    link lands on its schema, and the page is the console's (lang, landmarks, a way back)."""
    schema = client.get("/api/v1/openapi.json").json()
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert '<html lang="en">' in page
    assert '<main id="main"' in page
    assert "swagger" not in page.lower()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert f'id="{operation["operationId"]}"' in page
            assert f">{method.upper()}</span> <code>{path}</code>" in page
    for name in schema["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    linked = set(re.findall(r'href="#schema-([^"]+)"', page))
    assert linked
    assert linked <= set(schema["components"]["schemas"])
    assert 'href="/api/v1/openapi.json"' in page
    assert "/accounts/login/?next=/api/v1/docs" in page
    # What a reader needs besides names: limits, defaults, descriptions of nullable values, the
    # fields of an inline body, every shape of a "one or a batch" body, no raw Markdown.
    assert "(1 to 200 · default 50)" in page  # /customers?limit
    assert "Plan id or name" in page
    put = page[page.index('id="customers_api_customer_put"') :]
    put = put[: put.index("<h4>Responses</h4>")]
    assert "<code>billing_ref</code>" in put
    assert "(at most 200 characters)" in put
    events = page[page.index('id="audit_api_events_create"') :]
    assert "</a>, or list of <a" in events[: events.index("<h4>Responses</h4>")]
    assert "(1 to 1,000 items)" in events
    assert "`" not in re.sub(r"<code>[^<]*</code>", "", page)


def test_docs_page_leads_each_reader_back_to_their_keys(owner_client, org, owner):
    from customers.services import invite_accept
    from tests.factories import UserFactory, make_customer

    console = owner_client.get("/api/v1/docs").content.decode()
    assert 'href="/settings/api-keys/">API keys</a>' in console
    customer = make_customer(org, actor=owner, admin_email="admin@docs.test")
    admin = UserFactory(email="admin@docs.test")
    invite_accept(invitation=customer.admin_invitation, actor=admin)
    client = Client()
    client.force_login(admin)
    portal = client.get("/api/v1/docs").content.decode()
    assert 'href="/portal/api-tokens/">Your API keys</a>' in portal
    assert "Sign in to the console" not in portal
