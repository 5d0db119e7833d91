"""One HTTP request to a checked destination: webhook deliveries and audit log streams (POST),
and an SSO provider's discovery, keys and token endpoint. The connection goes to the address
that was checked (no DNS rebinding) and follows no redirect."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from urllib.parse import urlsplit

from customers.platform.outbound.safety import resolve_allowed

TIMEOUT_SECONDS = 10
EXCERPT_BYTES = 4096


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate checked against the URL's name."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool | None = None
) -> tuple[int, bytes]:
    """One POST, no redirects followed (http.client never follows one): status and the first
    4 KB of the answer. Raises UnsafeDestination for an address that is not allowed."""
    return send("POST", url, body, headers, allow_private=allow_private)


def send(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    allow_private: bool | None = None,
    limit: int = EXCERPT_BYTES,
    timeout: float = TIMEOUT_SECONDS,
) -> tuple[int, bytes]:
    """One request, no redirects followed: status and at most ``limit`` bytes of the answer.
    Raises UnsafeDestination for an address that is not allowed, OSError when it fails."""
    parts = urlsplit(url)
    address = resolve_allowed(url, allow_private=allow_private)
    deadline = time.monotonic() + 2 * timeout
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)  # never read from an IPv6 literal's digits
    host = parts.hostname or ""  # resolve_allowed refused a URL without one
    connection = (_PinnedHTTPS if https else _PinnedHTTP)(host, port, address, timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, _read(response, limit, deadline)
    finally:
        connection.close()


def _read(response: http.client.HTTPResponse, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes, by ``deadline``: the socket's timeout bounds each read, and
    this the whole answer, so a peer sending a byte at a time cannot hold the worker."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = response.read1(min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long")
    return b"".join(chunks)
