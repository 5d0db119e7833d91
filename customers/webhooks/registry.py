"""The catalogue of webhook event types: one entry per type, so a new type is one line here.

Each type names the audit actions that produce it (an event is written in the same transaction
as its audit entry), a description, and a version. Every event's ``data`` has the same shape,
described by DATA_SCHEMA."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    from_actions: tuple[str, ...] = field(default=())
    version: int = 1


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in [
        EventType("customer.created", "A customer was created.", ("customer.created",)),
        EventType(
            "customer.updated",
            "A customer's fields changed; data.changes holds [before, after] per field.",
            ("customer.updated", "customer.activated", "customer.admin_changed"),
        ),
        EventType("customer.suspended", "A customer was suspended.", ("customer.suspended",)),
        EventType(
            "customer.reactivated", "A suspended customer works again.", ("customer.reactivated",)
        ),
        EventType(
            "customer.deleted", "A customer was soft-deleted (restorable).", ("customer.deleted",)
        ),
        EventType("customer.restored", "A deleted customer came back.", ("customer.restored",)),
        EventType(
            "customer.purged", "A deleted customer was removed for good.", ("customer.purged",)
        ),
        EventType(
            "invitation.sent",
            "An invitation was emailed (or emailed again).",
            ("invite.sent", "invite.resent"),
        ),
        EventType("invitation.accepted", "An invitation was accepted.", ("invite.accepted",)),
        EventType("invitation.revoked", "An invitation was revoked.", ("invite.revoked",)),
        EventType("invitation.expired", "An invitation expired unused.", ("invite.expired",)),
        EventType(
            "customer_user.added",
            "A person joined a customer (an invitation accepted, or a first sign-in through "
            "the customer's SSO).",
            ("invite.accepted", "customer_user.provisioned"),
        ),
        EventType("customer_user.removed", "A person left a customer.", ("customer_user.removed",)),
        EventType(
            "connection.connected", "A customer connected an account.", ("connection.created",)
        ),
        EventType(
            "connection.revoked",
            "A connected account (or all of them) was revoked.",
            ("connection.revoked", "connection.revoked_all"),
        ),
        EventType(
            "connection.status_changed",
            "A connected account's status or health changed (healthy, degraded, relink "
            "needed, idle); data.changes holds [before, after].",
            ("connection.status_changed", "connection.health_changed"),
        ),
        EventType(
            "domain.verified",
            "A customer proved it controls a mail domain (a DNS TXT record): its people's "
            "sign-ins can go to its identity provider.",
            ("domain.verified",),
        ),
        EventType(
            "sso_connection.created",
            "A customer's SSO connection was set up (as a draft).",
            ("sso_connection.created",),
        ),
        EventType(
            "sso_connection.updated",
            "An SSO connection's settings changed; data.changes holds [before, after] (a new "
            "client secret shows as set, never its value).",
            ("sso_connection.updated",),
        ),
        EventType(
            "sso_connection.tested",
            "An SSO connection's test ran; data.changes.last_test_ok says whether it passed.",
            ("sso_connection.tested",),
        ),
        EventType(
            "sso_connection.activated",
            "An SSO connection signs people in from now on.",
            ("sso_connection.activated",),
        ),
        EventType(
            "sso_connection.deactivated",
            "An SSO connection no longer signs anyone in.",
            ("sso_connection.deactivated",),
        ),
        EventType(
            "sso_connection.deleted", "An SSO connection was removed.", ("sso_connection.deleted",)
        ),
        EventType(
            "sso.signed_in", "Someone signed in through their customer's SSO.", ("sso.signed_in",)
        ),
        EventType(
            "sso.certificate_expiring",
            "A SAML connection's signing certificate expires within 30 days (or has): the "
            "customer's IT admin must add the IdP's new one. Sent once per certificate.",
            ("sso.certificate_expiring",),
        ),
        EventType(
            "sso.refused",
            "An SSO sign-in was refused; data.message says which check failed.",
            ("sso.refused",),
        ),
        EventType(
            "limit.changed",
            "A customer's own limit was set, changed or reset.",
            ("limit.changed", "limit.reset"),
        ),
        EventType(
            "quota.exceeded",
            "A customer was refused by a limit: once per customer, dimension and window.",
            ("quota.exceeded",),
        ),
        EventType(
            "usage.threshold_crossed",
            "A customer's usage reached an alert threshold (80 % and 100 % unless set "
            "otherwise): once per customer, dimension, threshold and window.",
            ("usage.threshold_crossed",),
        ),
        EventType(
            "usage.forecast_exceeds",
            "At its current rate a customer reaches a limit before the window ends: once per "
            "customer, dimension and window.",
            ("usage.forecast_exceeds",),
        ),
        EventType("webhook.test", "Sent from the console's “Send test event” button."),
    ]
}

# Audit action -> the event types it produces.
FROM_ACTION: dict[str, list[str]] = {}
for _type in EVENT_TYPES.values():
    for _action in _type.from_actions:
        FROM_ACTION.setdefault(_action, []).append(_type.name)

# The JSON Schema of every event's ``data``.
DATA_SCHEMA = {
    "type": "object",
    "required": ["customer_id", "resource", "changes", "actor"],
    "properties": {
        "customer_id": {"type": ["string", "null"], "description": "The customer's UUID."},
        "customer": {
            "type": ["object", "null"],
            "description": "The customer as GET /customer/{id} returns it, when it still exists.",
        },
        "resource": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "id": {"type": "string"},
                "label": {"type": "string"},
            },
        },
        "changes": {
            "type": "object",
            "description": "Field -> [before, after]; secrets never appear.",
        },
        "actor": {"type": "string", "description": "Who did it: an email, a key, or system."},
    },
}
# The JSON Schema of the whole body a receiver gets.
PAYLOAD_SCHEMA = {
    "type": "object",
    "required": ["id", "type", "version", "timestamp", "sequence", "data"],
    "properties": {
        "id": {"type": "string", "description": "The event id; also the webhook-id header."},
        "type": {"type": "string", "enum": sorted(EVENT_TYPES)},
        "version": {"type": "integer"},
        "timestamp": {"type": "string", "format": "date-time"},
        "sequence": {
            "type": "integer",
            "description": "1, 2, 3… per endpoint: a gap means a delivery is still on its way.",
        },
        "data": DATA_SCHEMA,
    },
}
