"""The audit recorder: one function every write path calls."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.trail.actions import Action, ModelAction, model_action
from audit.trail.chain import current_key_id, entry_hash, last_link, lock_chain
from audit.trail.context import current_request
from audit.trail.hooks import run_after_record
from audit.trail.models import AuditEntry
from customers.platform.net import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from customers.selectors import ApiToken, Organization, User

    # Who acted: a person, an API key, or the system (None, or a request's anonymous user).
    Actor = User | ApiToken | AnonymousUser | models.Model | None

Outcome = AuditEntry.Outcome
# The model of API keys, as the entry's actor_token foreign key names it.
TOKEN_MODEL = "customers.ApiToken"

# Markers that say "no change" in a diff; anything else is recorded as [old, new].
_MISSING = object()

# The one list of secret fields. A diff, wherever it is made (admin, services, API), records
# only that such a field was set, never its value. Form fields count too (password1, …).
SECRET_FIELDS = frozenset(
    {"token", "token_hash", "secret", "key", "bin_key", "otp_secret", "api_key"}
)
# password, password1, new_password2, old_password…; signing_secret, prev_token_hash…
# (but not has_pci_passwords, an entitlement).
SECRET_NAMES = re.compile(r"(new_|old_)?password\d?|.+_(secret|token_hash|api_key)")
SECRET_SET = "set"


def is_secret(field: str) -> bool:
    name = field.lower()
    return name in SECRET_FIELDS or SECRET_NAMES.fullmatch(name) is not None


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` with every secret field folded into one "<field>: set" marker; a pair of
    form fields such as password1/password2 becomes a single ``password``."""
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if is_secret(field):
            name = "password" if "password" in field.lower() else field.rstrip("12")
            clean[name] = [None, SECRET_SET]
        else:
            clean[field] = value
    return clean


def as_json(value: Any) -> Any:
    """A value as an audit diff stores it: model rows by primary key, plain JSON as is."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        field: [as_json(before.get(field)), as_json(new)]
        for field, new in after.items()
        if before.get(field, _MISSING) != new
    }


def _set_actor(entry: AuditEntry, actor: Actor, label: str) -> None:
    """Who did it: a token, a person, or the system; as they were called then. The trail knows
    the actors' models only by their labels (it sits below every domain and imports none)."""
    kind = getattr(getattr(actor, "_meta", None), "label", "")
    if kind == TOKEN_MODEL:
        token = cast("ApiToken", actor)
        entry.actor_type = AuditEntry.ActorType.TOKEN
        entry.actor_token = token
        entry.actor_label = f"API key {token.name} ({token.prefix}…)"[:254]
    elif kind == settings.AUTH_USER_MODEL:
        user = cast("User", actor)
        entry.actor_type = AuditEntry.ActorType.USER
        entry.actor_user = user
        entry.actor_label = user.email
    else:
        # The system, or something that is neither a person nor a key (an SSO setup link's
        # holder): named as it names itself.
        entry.actor_type = AuditEntry.ActorType.SYSTEM
        entry.actor_label = str(actor)[:254] if kind else "system"
    if label:
        entry.actor_label = label[:254]


def _customer_of(resource: models.Model) -> Any:
    """The customer a resource is, or belongs to (a seat, a connection, a token…)."""
    if resource._meta.label == "customers.Customer":
        return resource.pk
    return getattr(resource, "customer_id", None)


def record(
    *,
    action: Action | ModelAction,
    organization: Organization | None,
    actor: Actor = None,
    resource: models.Model | None = None,
    resource_type: str = "",
    resource_id: str = "",
    resource_label: str = "",
    outcome: str = Outcome.SUCCESS,
    changes: dict[str, Any] | None = None,
    message: str = "",
    actor_label: str = "",
    request: HttpRequest | None = None,
    customer_id: Any = None,
) -> AuditEntry:
    """Write one audit entry in the caller's transaction.

    ``actor`` is a user, an API token or None for the system. Request id, client address and
    user agent come from ``request``, or from the request being served when there is one.
    """
    request = request or current_request.get()
    if resource is not None:
        resource_type = resource_type or str(resource._meta.model_name)
        resource_id = resource_id or str(resource.pk)
        resource_label = resource_label or str(resource)
        customer_id = customer_id or _customer_of(resource)

    entry = AuditEntry(
        organization=organization,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_label=resource_label[:254],
        outcome=outcome,
        changes=redact(changes or {}),
        message=message[:500],
        customer_id=customer_id,
    )
    _set_actor(entry, actor, actor_label)
    if request is not None:
        entry.ip_address = client_ip(request)
        entry.user_agent = request.headers.get("User-Agent", "")[:500]
        entry.request_id = getattr(request, "request_id", "")
    with transaction.atomic():
        # Chained in the caller's transaction: the lock holds until it commits.
        lock_chain(entry.organization_id)
        entry.created_at = timezone.now()
        entry.key_id = current_key_id()
        entry.prev_hash, sequence = last_link(entry.organization_id)
        entry.sequence = sequence + 1
        entry.changes = json.loads(json.dumps(entry.changes, default=str))
        entry.hash = entry_hash(entry, entry.prev_hash)
        entry.save()
        # In the same transaction: what follows (the webhook outbox, health scores) commits or
        # rolls back with the change and its entry.
        run_after_record(entry, resource)
    return entry


def record_read(
    *,
    organization: Organization | None,
    actor: Actor,
    resource: models.Model,
    message: str = "",
) -> AuditEntry | None:
    """Who viewed this: a ``<model>.viewed`` entry, written only for an organization that
    turned read auditing on (Audit Log settings)."""
    if organization is None or not organization.audit_reads:
        return None
    return record(
        action=model_action(str(resource._meta.model_name), "viewed"),
        organization=organization,
        actor=actor,
        resource=resource,
        message=message,
    )


def record_export(
    *,
    organization: Organization,
    actor: Actor,
    message: str,
    resource: models.Model | None = None,
) -> AuditEntry:
    """An Audit Log export (the console's, or with ``resource`` a customer's in the portal):
    who took a copy of the trail, with which filters."""
    return record(
        action=Action.AUDIT_LOG_EXPORTED,
        organization=organization,
        actor=actor,
        resource=resource,
        resource_type="" if resource is not None else "audit_log",
        message=message,
    )
