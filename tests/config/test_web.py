"""The UI shell: CSRF, HTMX conventions, security headers."""

from __future__ import annotations

import re

import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.test import Client, RequestFactory

from config.middleware import HtmxMessagesMiddleware, HtmxRedirectMiddleware

pytestmark = pytest.mark.django_db


def test_csrf_is_enforced_without_the_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/settings/api-keys/", {"name": "x"}).status_code == 403


def test_htmx_requests_carry_the_csrf_token_from_the_body(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get("/settings/api-keys/").content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)

    response = client.post(
        "/settings/api-keys/", {"name": "x"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    # Past CSRF: created, and the redirect to show the key travels as HX-Redirect.
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/settings/api-keys/"


def test_pages_vary_on_hx_request(owner_client):
    assert "HX-Request" in owner_client.get("/")["Vary"]


def test_csp_with_a_nonce_on_every_script(owner_client):
    response = owner_client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "object-src 'none'" in policy
    assert "base-uri 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert len(scripts) >= 2  # htmx and ours
    assert all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert any("htmx" in tag for tag in scripts)


def test_every_response_has_a_request_id(client, db):
    assert len(client.get("/accounts/login/")["X-Request-ID"]) >= 8
    echoed = client.get("/accounts/login/", HTTP_X_REQUEST_ID="proxy-abc-123")
    assert echoed["X-Request-ID"] == "proxy-abc-123"
    forged = client.get("/accounts/login/", HTTP_X_REQUEST_ID="<script>")
    assert forged["X-Request-ID"] != "<script>"


def _htmx_request(owner):
    request = RequestFactory().get("/", HTTP_HX_REQUEST="true")
    request.htmx = True
    request.user = owner
    request.session = {}
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    return request


def test_messages_travel_out_of_band_with_htmx_fragments(owner):
    def view(request):
        messages.success(request, "Saved it.")
        return HttpResponse("<tr>fragment</tr>")

    response = HtmxMessagesMiddleware(view)(_htmx_request(owner))
    content = response.content.decode()
    assert content.startswith("<tr>fragment</tr>")
    assert 'hx-swap-oob="true"' in content
    assert "Saved it." in content


def test_a_redirect_answering_htmx_becomes_hx_redirect(owner):
    response = HtmxRedirectMiddleware(lambda request: redirect("/elsewhere/"))(_htmx_request(owner))
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/elsewhere/"


def test_static_files_and_the_stylesheet_load(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert "/static/css/app.css" in page


def test_no_template_comment_spans_lines():
    """Django's {# … #} ends on its own line; one that spans lines is shown to people as text
    (it was, above the Customer box on Executions and Events). Longer ones use {% comment %}."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    spanning = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]
    assert spanning == []
