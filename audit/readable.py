"""Audit diffs as people read them: "Plan: Free → Pro", "Role: — → Admin", never a raw plan
UUID or "superuser". Entries keep the raw values (they are chained and exported as they are);
this names them for a page of entries with one query per kind of reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from audit.trail.actions import action_label
from billing.selectors import plans_of
from customers.selectors import Connection, CustomerStatus, CustomerUser, Invitation, Membership

# Words for the stored values of the fields whose values are codes, by the kind of record the
# entry is about: a connection's "revoked" is Revoked, an invitation's Invite Revoked.
_CUSTOMER_STATUS = dict(CustomerStatus.choices)
CODES_BY_RESOURCE: dict[str, dict[str, dict[str, str]]] = {
    "customer": {"status": _CUSTOMER_STATUS, "status_before_delete": _CUSTOMER_STATUS},
    "connection": {"status": dict(Connection.Status.choices)},
    "invitation": {
        "status": dict(Invitation.Status.choices),
        "role": dict(CustomerUser.Role.choices),
    },
    "customeruser": {"role": dict(CustomerUser.Role.choices)},
    "membership": {"role": dict(Membership.Role.choices)},
}
# An entry about anything else (a diff recorded under another resource): customers' words.
CODES_OTHERWISE = CODES_BY_RESOURCE["customer"]
FIELD_LABELS = {
    "plan_id": "Plan",
    "owner_id": "Admin",
    "external_id": "External ID",
    "force_2fa": "Force 2FA",
    "sso": "SSO",
    "ip_allowlist": "IP allow-list",
}
# Diff fields whose values are references: customer.created says "plan_id", an edit "plan".
REFERENCES = {"plan_id": "plan", "plan": "plan", "owner_id": "seat"}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def field_label(field: str) -> str:
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    return field.replace("_", " ").capitalize()


def _word(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _referenced(entries: list[Any]) -> dict[str, list[uuid.UUID]]:
    """The plan and seat ids the page's diffs hold, by kind."""
    wanted: dict[str, set[str]] = {"plan": set(), "seat": set()}
    for entry in entries:
        for field, values in (entry.changes or {}).items():
            if field in REFERENCES and isinstance(values, list):
                wanted[REFERENCES[field]] |= {str(v) for v in values if v}
    return {kind: _uuids(ids) for kind, ids in wanted.items()}


def _names(entries: list[Any], organization: Any) -> dict[str, dict[str, str]]:
    """The plan names and admin emails the page's diffs refer to (one query each, if any)."""
    ids = _referenced(entries)
    found: dict[str, dict[str, str]] = {"plan": {}, "seat": {}}
    if ids["plan"]:
        plans = plans_of(organization).filter(pk__in=ids["plan"])
        found["plan"] = {str(plan.pk): plan.name for plan in plans}
    if ids["seat"]:
        seats = CustomerUser.objects.for_organization(organization).filter(pk__in=ids["seat"])
        found["seat"] = {str(s.pk): s.user.email for s in seats.select_related("user")}
    return {field: found[kind] for field, kind in REFERENCES.items()}


def _uuids(values: set[str]) -> list[uuid.UUID]:
    """Only well-formed ids reach the query (a diff holds whatever was recorded)."""
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


def with_readable_changes(entries: list[Any], organization: Any) -> list[Any]:
    """Sets ``entry.readable_changes`` on each entry: its diff in words, field by field."""
    names = _names(entries, organization)
    for entry in entries:
        rows = []
        for field, values in (entry.changes or {}).items():
            before, after = (
                values if isinstance(values, list) and len(values) == 2 else (None, values)
            )
            codes = CODES_BY_RESOURCE.get(entry.resource_type, CODES_OTHERWISE)
            known = names.get(field) or codes.get(field, {})
            change = Change(
                field_label(field),
                known.get(str(before), _word(before)) if before is not None else "—",
                known.get(str(after), _word(after)) if after is not None else "—",
            )
            if change.before != change.after:  # "External ID: — → —" says nothing
                rows.append(change)
        entry.readable_changes = rows
        entry.action_label = action_label(entry.action)
    return entries
