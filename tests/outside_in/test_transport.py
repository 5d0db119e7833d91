"""The one outbound transport (webhooks and log streams) over TLS, against a real HTTPS server on
127.0.0.1: it connects to the address it checked and verifies the certificate against the URL's
name, so a certificate for another name is refused."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from customers.platform.outbound import transport


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return key, cert


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"received")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_server(tmp_path):
    """A TLS server on 127.0.0.1 whose certificate names "localhost"; yields (port, cert)."""
    key, cert = _certificate(tmp_path, "localhost")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


DEFAULT_CONTEXT = ssl.create_default_context  # the real one, before a test replaces it


def _trusting(cert: Path):
    """The default context, trusting only ``cert`` (what the system's CA store does for a real
    receiver)."""

    def context() -> ssl.SSLContext:
        return DEFAULT_CONTEXT(cafile=str(cert))

    return context


def test_a_post_over_tls_reaches_the_checked_address(https_server, monkeypatch):
    port, cert = https_server
    monkeypatch.setattr(transport.ssl, "create_default_context", _trusting(cert))
    status, body = transport.post(
        f"https://localhost:{port}/hook", b"{}", {"Content-Type": "application/json"},
        allow_private=True,
    )  # fmt: skip
    assert (status, body) == (200, b"received")


def test_a_certificate_for_another_name_is_refused(https_server, monkeypatch, tmp_path):
    port, _ = https_server
    _, other = _certificate(tmp_path, "other.test")
    monkeypatch.setattr(transport.ssl, "create_default_context", _trusting(other))
    with pytest.raises(ssl.SSLCertVerificationError):
        transport.post(f"https://localhost:{port}/hook", b"{}", {}, allow_private=True)


def test_an_untrusted_certificate_is_refused(https_server):
    port, _ = https_server
    with pytest.raises(ssl.SSLCertVerificationError):
        transport.post(f"https://localhost:{port}/hook", b"{}", {}, allow_private=True)
