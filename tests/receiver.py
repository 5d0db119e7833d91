"""A real HTTP receiver on loopback for webhook tests: it records what arrives, answers with
the status codes it is told to, and can be stopped and started again on the same port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


class Receiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []  # status codes to give, in order; then 200
        # Crash on that request (1 = the first): read it, never answer, stop listening.
        self.crash_on: int | None = None
        self.crashing: threading.Thread | None = None
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        if self.crashing is not None:  # let the crashed server finish dying first
            self.crashing.join()
            self.crashing = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if receiver.crash_on == len(receiver.received) + 1:
                    receiver.received.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "answered": 0,
                        }
                    )
                    self.close_connection = True
                    self.connection.close()  # no answer: the sender cannot know it arrived
                    receiver.crashing = threading.Thread(target=receiver.stop)
                    receiver.crashing.start()
                    return
                with receiver.lock:
                    code = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "answered": code,
                            "at": time.monotonic(),  # when it arrived
                        }
                    )
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"not now")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Every body that arrived, each verified with standardwebhooks (raises if one fails)."""
        hook = Webhook(secret)
        return [hook.verify(r["body"], r["headers"]) for r in self.received]

    def delivered(self, secret: str) -> list[dict[str, Any]]:
        """What a receiver keeps: 2xx-answered bodies, de-duplicated by webhook-id."""
        seen, kept = set(), []
        hook = Webhook(secret)
        for r in self.received:
            if r["answered"] >= 300 or r["headers"]["webhook-id"] in seen:
                continue
            seen.add(r["headers"]["webhook-id"])
            kept.append(hook.verify(r["body"], r["headers"]))
        return kept

    def types(self) -> list[str]:
        return [json.loads(r["body"])["type"] for r in self.received]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@contextmanager
def hanging_receiver() -> Iterator[str]:
    """A URL on loopback that takes the connection and never answers: a sender waits for its
    own timeout. The accepted sockets are held until the end."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hangs"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()
