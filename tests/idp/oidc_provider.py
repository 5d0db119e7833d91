"""panva's oidc-provider (tests/idp/oidc/server.mjs) run under the machine's Node on loopback,
as the customer's real identity provider in the SSO tests; and a person signing in at it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).parent / "oidc"
READY_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unavailable() -> str | None:
    """Why the provider cannot run here, or None."""
    if not shutil.which("node"):
        return "Node.js is not installed"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed (make install runs npm ci in tests/idp/oidc)"
    return None


def require() -> None:
    """Skip with the reason, or fail in CI (REQUIRE_IDP), when the provider cannot run."""
    reason = unavailable()
    if reason:
        if os.environ.get("REQUIRE_IDP"):
            pytest.fail(f"REQUIRE_IDP is set but {reason}")
        pytest.skip(reason)


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str

    def sign_in(self, authorize_url: str, email: str) -> str:
        """Sign in at the provider's login form as ``email``: the URL it sends the browser
        back to (Tenantry's callback, with the code and state)."""
        browser = requests.Session()
        url = authorize_url
        for _ in range(10):
            answer = browser.get(url, allow_redirects=False, timeout=10)
            if "/interaction/" in urlsplit(url).path and answer.status_code == 200:
                answer = browser.post(
                    url,
                    data={"prompt": "login", "login": email, "password": "any"},
                    allow_redirects=False,
                    timeout=10,
                )
            location = answer.headers.get("Location")
            if not location:
                raise AssertionError(f"the provider stopped at {url}: {answer.status_code}")
            url = urljoin(url, location)
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider redirected too many times")


@contextmanager
def running(
    site_url: str,
    accounts: dict[str, dict] | None = None,
    *,
    claims_in_id_token: bool = False,
    **client: object,
) -> Iterator[Provider]:
    """A provider with one confidential client whose redirect URIs are every connection's
    callback under ``site_url`` (/sso/oidc/<id>/callback/), stopped afterwards."""
    prefix = site_url.rstrip("/") + "/sso/oidc/"
    require()
    port = _free_port()
    config = {
        "client_id": "tenantry",
        "client_secret": "provider-side-secret-" + os.urandom(6).hex(),
        "redirect_uris": [prefix + "registered-by-prefix/callback/"],
        **client,
    }
    process = subprocess.Popen(
        ["node", str(HERE / "server.mjs"), str(port), json.dumps([config])],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "ACCOUNTS": json.dumps(accounts or {}),
            "REDIRECT_PREFIXES": json.dumps([prefix]),
            **({"CLAIMS_IN_ID_TOKEN": "1"} if claims_in_id_token else {}),
        },
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("ready"):
                break
            if not line and process.poll() is not None:
                raise AssertionError("oidc-provider exited before it was ready")
        else:
            raise AssertionError("oidc-provider did not start in time")
        yield Provider(
            issuer=f"http://127.0.0.1:{port}",
            client_id=str(config["client_id"]),
            client_secret=str(config["client_secret"]),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
