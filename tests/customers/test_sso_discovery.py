"""A provider's discovery document and keys, from a hostile or broken server on loopback:
whatever it serves (wrong types, JSON nested to the recursion limit, a byte at a time, a
foreign issuer) is a plain-words failure of the "discovery" check, never an exception."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.oidc import discover


@contextmanager
def serving(answer: bytes | Callable[[str], bytes], *, slow: bool = False) -> Iterator[str]:
    """A server on loopback answering every GET with ``answer`` (or what it makes of the
    server's own URL); the URL. ``asked`` lists the paths it was asked for."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = answer(base) if callable(answer) else answer
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for i in range(0, len(body), 1 if slow else len(body) or 1):
                try:
                    self.wfile.write(body[i : i + (1 if slow else len(body))])
                    self.wfile.flush()
                except OSError:
                    return
                if slow:
                    time.sleep(0.05)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.SSO_ALLOW_PRIVATE = True
    cache.clear()


asked: list[str] = []


def test_a_failed_discovery_is_remembered_for_half_a_minute():
    asked.clear()
    with serving(b"not json") as url:
        for _ in range(5):
            with pytest.raises(SsoCheckFailed, match="did not answer"):
                discover(url)
    assert len(asked) == 1  # the public sign-in start cannot make it wait every time


def document(issuer: str, **changes: object) -> bytes:
    base = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/auth",
        "token_endpoint": issuer + "/token",
        "jwks_uri": issuer + "/jwks",
    }
    return json.dumps({**base, **changes}).encode()


def test_a_good_document_is_read_and_its_odd_extras_ignored():
    with serving(lambda url: document(url, scopes_supported=5)) as url:
        provider = discover(url)
    assert provider.token_endpoint == url + "/token"
    assert provider.scopes_supported == ()


def test_a_document_naming_another_issuer_is_refused():
    with (
        serving(lambda url: document("https://someone-else.example")) as url,
        pytest.raises(SsoCheckFailed) as caught,
    ):
        discover(url)
    assert caught.value.check == "issuer"


def test_endpoints_must_be_https_unless_private_providers_are_allowed(settings):
    with serving(lambda url: document(url)) as url:
        settings.SSO_ALLOW_PRIVATE = False
        with pytest.raises(SsoCheckFailed, match="must be an https:// URL"):
            discover(url)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000,
        b"not json",
        b'"a string"',
        b'{"issuer": 5}',
        json.dumps({"issuer": "x", "authorization_endpoint": ["a"]}).encode(),
    ],
)
def test_broken_documents_are_a_discovery_failure(body):
    with serving(body) as url, pytest.raises(SsoCheckFailed) as caught:
        discover(url)
    assert caught.value.check in ("discovery", "issuer")


def test_a_provider_answering_a_byte_at_a_time_is_cut_off(settings, monkeypatch):
    from customers.identity.sso import oidc

    monkeypatch.setattr(oidc, "TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    with (
        serving(b"{" + b" " * 100 + b"}", slow=True) as url,
        pytest.raises(SsoCheckFailed) as caught,
    ):
        discover(url)
    assert caught.value.check == "discovery"
    assert time.monotonic() - started < 4


def test_userinfo_about_someone_else_is_refused():
    from customers.identity.sso.oidc import Provider, _userinfo

    with serving(json.dumps({"sub": "someone-else", "email": "ceo@acme.example"}).encode()) as url:
        provider = Provider(url, url + "/auth", url + "/token", url + "/jwks", (), url + "/me")
        with pytest.raises(SsoCheckFailed, match="about someone else"):
            _userinfo(provider, "access-token", "the-id-tokens-subject")
        assert _userinfo(provider, "t", "someone-else")["email"] == "ceo@acme.example"
