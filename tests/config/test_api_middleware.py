"""JSON API requests skip the browser's middleware (config/browser_middleware.py); pages and the
API's HTML docs keep all of it."""

from __future__ import annotations

import pytest
from django.conf import settings

from customers.services import api_token_create

pytestmark = pytest.mark.django_db


def test_an_api_request_gets_no_session_csp_or_htmx_vary(client, org, owner):
    secret = api_token_create(organization=org, name="m", actor=owner)[1]
    client.cookies["sessionid"] = "not-looked-up"
    response = client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert "HX-Request" not in response.get("Vary", "")
    assert "Cookie" not in response.get("Vary", "")  # the session was never read
    assert not hasattr(response.wsgi_request, "user")
    assert "X-Request-ID" in response  # what every request gets, it still gets


def test_pages_and_the_api_docs_keep_the_browser_middleware(owner_client):
    for url in ("/settings/customers/", "/api/v1/docs"):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response, url
        assert response.wsgi_request.user.is_authenticated, url


def test_djangos_checks_still_find_the_middleware_they_look_for():
    """The wrapped classes are the libraries' own, subclassed (the admin's checks need them)."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.utils.module_loading import import_string

    wrapped = [import_string(path) for path in settings.MIDDLEWARE]
    assert any(issubclass(cls, SessionMiddleware) for cls in wrapped)
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_a_path_the_api_does_not_have_answers_json_and_a_page_html(client, owner_client):
    for url in ("/api/v1/nope", "/api/nope"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found."}
    page = owner_client.get("/settings/nope/")
    assert page.status_code == 404
    assert "text/html" in page["Content-Type"]
    assert "Content-Security-Policy" in page
