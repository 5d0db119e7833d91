"""A real DNS server on loopback for the tests (dnslib), answering TXT queries from a dict the
test fills in; domain verification reaches it through dnspython, as it reaches any server."""

from __future__ import annotations

import time
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zone(BaseResolver):
    """``txt[name]`` lists the TXT strings published at ``name``; ``delay`` holds every answer
    back (longer than the client's timeout: a server that does not answer)."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.delay = 0.0
        self.queries: list[str] = []

    def publish(self, name: str, *values: str) -> None:
        self.txt.setdefault(name.lower(), []).extend(values)

    def resolve(self, request: Any, handler: Any) -> Any:
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append(name)
        if self.delay:
            time.sleep(self.delay)
        reply = request.reply()
        if name not in self.txt:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in self.txt[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


class LoopbackDNS:
    def __init__(self) -> None:
        self.zone = Zone()
        self.server = DNSServer(
            self.zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _: None)
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server.server_address[1]}"

    def __enter__(self) -> LoopbackDNS:
        self.server.start_thread()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()
        self.server.server.server_close()
