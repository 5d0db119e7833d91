from __future__ import annotations

import json

import pytest
from django.test import Client

from customers.services import api_token_create, invite_accept
from tests.factories import UserFactory, make_customer


class ApiClient:
    """A test client that sends a token and JSON by default."""

    def __init__(self, secret: str, header: str = "Authorization") -> None:
        self.client = Client()
        self.headers = (
            {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
            if header == "Authorization"
            else {"HTTP_FASTLY_KEY": secret}
        )

    def _send(self, method, path, body=None, content_type="application/json", **extra):
        encode = content_type == "application/json" and not isinstance(body, str | None)
        data = json.dumps(body) if encode else body
        kwargs = {"content_type": content_type} if data is not None else {}
        return getattr(self.client, method)(
            f"/api/v1{path}", data, **kwargs, **self.headers, **extra
        )

    def get(self, path, params=None, **extra):
        return self.client.get(f"/api/v1{path}", params or {}, **self.headers, **extra)

    def put(self, path, body=None, **kw):
        return self._send("put", path, body, **kw)

    def post(self, path, body=None, **kw):
        return self._send("post", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self._send("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self._send("delete", path, **kw)


@pytest.fixture
def api(org, owner):
    return ApiClient(api_token_create(organization=org, name="backend", actor=owner)[1])


@pytest.fixture
def other_api(other_org, outsider):
    return ApiClient(api_token_create(organization=other_org, name="theirs", actor=outsider)[1])


@pytest.fixture
def customer(org, owner):
    customer = make_customer(
        org,
        actor=owner,
        name="John-Acme",
        slug="acme-customer",
        external_id="customer_12345",
        admin_email="john@acme.ai",
    )
    invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="john@acme.ai"))
    customer.refresh_from_db()
    return customer


@pytest.fixture
def customer_api(customer, owner):
    secret = api_token_create(
        organization=customer.organization, customer=customer, name="portal-token", actor=owner
    )[1]
    return ApiClient(secret, header="Fastly-Key")
