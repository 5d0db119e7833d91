"""What each kind of log stream receives: the same event per audit entry, packed the way
an HTTPS receiver (Standard Webhooks), Splunk's HTTP Event Collector, Datadog's log intake
or a JSON Lines file expects it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from standardwebhooks import Webhook

from audit.streams.models import LogStream
from audit.trail.models import AuditEntry

DATADOG_INTAKE = "https://http-intake.logs.datadoghq.com/api/v2/logs"


def event(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as a stream event; ``id`` is stable, for de-duplication."""
    return {
        "id": f"audit_{entry.pk}",
        "type": "audit.entry",
        "timestamp": entry.created_at.isoformat(),
        "organization": str(entry.organization_id) if entry.organization_id else None,
        "customer": str(entry.customer_id) if entry.customer_id else None,
        "action": entry.action,
        "outcome": entry.outcome,
        "actor": {"type": entry.actor_type, "label": entry.actor_label},
        "resource": {
            "type": entry.resource_type,
            "id": entry.resource_id,
            "label": entry.resource_label,
        },
        "changes": entry.changes,
        "message": entry.message,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        # The receiver proves it has everything: each event's prev_hash is the hash of the
        # one before it, and sequence counts the organization's entries without a gap.
        "sequence": entry.sequence,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def test_event(stream: LogStream) -> dict[str, Any]:
    now = timezone.now()
    return {
        "id": f"test_{stream.pk.hex[:12]}_{int(now.timestamp())}",
        "type": "audit.test",
        "timestamp": now.isoformat(),
        "organization": str(stream.organization_id),
        "message": "A test event from Tenantry: this stream reaches you.",
    }


@dataclass
class Request:
    body: bytes
    headers: dict[str, str]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def https(events: list[dict[str, Any]], secret: str) -> Request:
    body = _json({"type": "audit.entries", "entries": events})
    msg_id = f"msg_{events[0]['id']}_{len(events)}"
    now = timezone.now()
    return Request(
        body.encode(),
        {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        },
    )


def splunk(events: list[dict[str, Any]], token: str) -> Request:
    body = "\n".join(
        _json(
            {
                "time": datetime.fromisoformat(e["timestamp"]).timestamp(),
                "source": "tenantry",
                "sourcetype": "tenantry:audit",
                "event": e,
            }
        )
        for e in events
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Splunk {token}"}
    return Request(body.encode(), headers)


def datadog(events: list[dict[str, Any]], api_key: str) -> Request:
    body = _json(
        [
            {
                "ddsource": "tenantry",
                "service": "tenantry-audit",
                "ddtags": f"organization:{e['organization']},action:{e.get('action', 'test')}",
                "message": _json(e),
            }
            for e in events
        ]
    )
    return Request(body.encode(), {"Content-Type": "application/json", "DD-API-KEY": api_key})


def json_lines(events: list[dict[str, Any]]) -> bytes:
    return "".join(_json(e) + "\n" for e in events).encode()


HTTP_FORMATS = {
    LogStream.Kind.HTTPS: https,
    LogStream.Kind.SPLUNK: splunk,
    LogStream.Kind.DATADOG: datadog,
}
