"""One webhook attempt on the wire: the body that is signed, its Standard Webhooks signatures,
and the POST. Nothing here touches the database, so the worker's sender threads run it while
the worker's own thread claims and records (customers/webhooks/delivery.py)."""

from __future__ import annotations

import http.client
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from standardwebhooks import Webhook

from customers.platform.outbound.safety import UnsafeDestination
from customers.platform.outbound.secrets import decrypt
from customers.platform.outbound.transport import post
from customers.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str
    excerpt: str

    @property
    def timed_out(self) -> bool:
        """The receiver took the connection and never answered in time (the breaker's cue)."""
        return self.status_code is None and self.error.startswith("TimeoutError")

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(delivery: WebhookDelivery) -> str:
    event = delivery.event
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "timestamp": event.created_at.isoformat(),
            "sequence": delivery.sequence,
            "data": event.data,
        },
        separators=(",", ":"),
        default=str,
    )


def signature(endpoint: WebhookEndpoint, msg_id: str, at: datetime, body: str) -> str:
    """v1 signatures under the current secret and, during a rotation, the previous one."""
    keys = [decrypt(endpoint.secret_encrypted)]
    overlap = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and overlap and overlap > timezone.now():
        keys.append(decrypt(endpoint.previous_secret_encrypted))
    return " ".join(Webhook(key).sign(msg_id, at, body) for key in keys)


def send(delivery: WebhookDelivery) -> Outcome:
    endpoint, body = delivery.endpoint, body_of(delivery)
    now = timezone.now()
    started = time.monotonic()
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tenantry-Webhooks/1",
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(endpoint, delivery.event_id, now, body),
        }
        code, excerpt = post(endpoint.url, body.encode(), headers)
        error = ""
    except UnsafeDestination as refused:
        code, excerpt, error = None, b"", str(refused)
    except (OSError, ValueError, http.client.HTTPException) as failure:
        # refused, reset, timed out, a bad certificate, a garbled answer
        code, excerpt, error = None, b"", f"{type(failure).__name__}: {failure}"[:300]
    except Exception as failure:  # anything else: logged, recorded, and the worker goes on
        log.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        code, excerpt, error = None, b"", f"Internal error: {type(failure).__name__}"
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(code, latency, error, excerpt.decode("utf-8", "replace"))
