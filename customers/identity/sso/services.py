"""A customer's SSO connections: set up, test, activate, deactivate, remove. Every step is
audited in its transaction; a client secret never reaches the audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import ApiToken, User
from customers.identity.sso import saml_metadata, saml_services
from customers.identity.sso.models import SsoConnection, SsoSetupLink
from customers.people.models import CustomerUser
from customers.platform.errors import Conflict, Invalid, ServiceError
from customers.platform.outbound.secrets import decrypt, encrypt
from customers.records.models import Customer
from customers.records.services.common import (
    CUSTOMER_DELETED_NO_CHANGES,
    audited,
    locked_customer,
)

# A person, an API key, the system, or the holder of a setup link (SsoSetupLink).
Actor = User | ApiToken | SsoSetupLink | None

# Settings that say who the provider is, and which claim names the person: changing one voids
# the last test (a claim people may edit themselves would let them choose who they are).
# A new signing certificate is not among them: an IdP rolls its keys over, and the entity id
# says who it is.
PROVIDER_FIELDS = (
    "issuer",
    "client_id",
    "email_claim",
    "idp_metadata_url",
    "idp_entity_id",
    "idp_sso_url",
)
EDITABLE = (
    "name",
    "issuer",
    "client_id",
    "idp_metadata_url",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
    "allow_idp_initiated",
    "email_claim",
    "first_name_claim",
    "last_name_claim",
    "groups_claim",
    "group_roles",
    "default_role",
    "provision_users",
)
CONNECTIONS_PER_CUSTOMER = 5
# What the trail shows of a new connection.
CREATE_SHOWN: dict[str, tuple[str, ...]] = {
    SsoConnection.Protocol.OIDC: ("name", "protocol", "issuer", "client_id", "default_role"),
    SsoConnection.Protocol.SAML: (
        "name",
        "protocol",
        "idp_entity_id",
        "idp_sso_url",
        "default_role",
    ),
}

NEEDS_TEST = (
    "Test “{name}” first: a connection signs people in only after a test sign-in through it "
    "has passed with its current settings."
)
FORCE_SSO_RELIES = (
    "{customer} requires SSO and “{name}” is its only active, tested connection: turn off "
    "“Force SSO” first, or activate another connection."
)
NAME_TAKEN = "{customer} already has a connection named “{name}”."
TOO_MANY = "{customer} has {limit} SSO connections already; remove one before adding another."
ROLE_UNKNOWN = "“{role}” is not a customer role: use one of {roles}."


def _check_role(role: str) -> None:
    if role not in CustomerUser.Role.values:
        raise Invalid(ROLE_UNKNOWN.format(role=role, roles=", ".join(CustomerUser.Role.values)))


def _check_group_roles(group_roles: Any) -> dict[str, str]:
    if not isinstance(group_roles, dict):
        raise Invalid("Group roles map each group's name to a customer role.")
    cleaned = {}
    for group, role in group_roles.items():
        name = str(group).strip()
        if not name or len(name) > 200:
            raise Invalid("A group's name is 1 to 200 characters.")
        _check_role(str(role))
        cleaned[name] = str(role)
    return cleaned


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    # Input only, never kept as such: the secret (encrypted) and pasted metadata (read), and
    # what the metadata gave.
    derived = {"client_secret", "certificate_expires_at", "idp_metadata_fetched_at"}
    unknown = set(changes) - set(EDITABLE) - derived
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "default_role" in changes:
        _check_role(changes["default_role"])
    if "group_roles" in changes:
        changes["group_roles"] = _check_group_roles(changes["group_roles"])
    return changes


def _open(customer: Customer) -> Customer:
    current = locked_customer(customer)
    if current.is_deleted:
        raise ServiceError(CUSTOMER_DELETED_NO_CHANGES.format(name=current.name))
    return current


def _audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


@audited(Action.SSO_CONNECTION_CREATED)
def sso_connection_create(
    *,
    customer: Customer,
    actor: Actor,
    name: str,
    protocol: str = SsoConnection.Protocol.OIDC,
    client_secret: str = "",
    **settings: Any,
) -> SsoConnection:
    """A new connection, as a draft: it signs nobody in until tested and activated. SAML
    metadata is read (or fetched) first, outside the transaction."""
    if protocol not in SsoConnection.Protocol.values:
        raise Invalid(f"“{protocol}” is not a protocol: use oidc or saml.")
    settings = _clean(saml_services.resolved(settings, protocol))
    with transaction.atomic():
        return _create(customer, actor, name, protocol, client_secret, settings)


def _create(
    customer: Customer,
    actor: Actor,
    name: str,
    protocol: str,
    client_secret: str,
    settings: dict[str, Any],
) -> SsoConnection:
    current = _open(customer)
    taken = SsoConnection.objects.for_customer(current)
    if taken.count() >= CONNECTIONS_PER_CUSTOMER:
        raise ServiceError(TOO_MANY.format(customer=current.name, limit=CONNECTIONS_PER_CUSTOMER))
    if taken.filter(name=name).exists():
        raise Conflict(NAME_TAKEN.format(customer=current.name, name=name))
    connection = SsoConnection(
        organization_id=current.organization_id,
        customer=current,
        name=name,
        protocol=protocol,
        created_by=actor if isinstance(actor, User) else None,
        client_secret_encrypted=encrypt(client_secret) if client_secret else "",
        **settings,
    )
    connection.full_clean(exclude=["customer", "organization"])
    saml_services.check_complete(connection)
    connection.save(force_insert=True)
    shown = {k: getattr(connection, k) for k in CREATE_SHOWN[connection.protocol]}
    changes = {k: [None, v] for k, v in shown.items()}
    if client_secret:
        changes["client_secret"] = [None, "set"]  # the trail writes only that it was set
    record(
        action=Action.SSO_CONNECTION_CREATED,
        organization=current.organization,
        actor=actor,
        resource=connection,
        changes=changes,
    )
    return connection


def locked_connection(connection: SsoConnection) -> SsoConnection:
    locked: SsoConnection = (
        SsoConnection.objects.for_customer(connection.customer)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=connection.pk)
    )
    return locked


def _others_keep_force_sso(connection: SsoConnection) -> None:
    """Refuse to take away the last active, tested connection of a customer that forces SSO."""
    customer = connection.customer
    if not customer.force_sso or not (connection.is_active and connection.passed_test):
        return
    others = (
        SsoConnection.objects.for_customer(customer)
        .filter(status=SsoConnection.Status.ACTIVE, last_test_ok=True)
        .exclude(pk=connection.pk)
    )
    if not others.exists():
        raise Conflict(FORCE_SSO_RELIES.format(customer=customer.name, name=connection.name))


@audited(Action.SSO_CONNECTION_UPDATED)
def sso_connection_update(
    *, connection: SsoConnection, actor: Actor, changes: dict[str, Any]
) -> SsoConnection:
    """Change a connection's settings. A new issuer, client id or secret (or IdP entity id,
    SSO URL or metadata URL) voids the last test: an active connection goes back to draft
    until a new test passes."""
    changes = _clean(saml_services.resolved(changes, connection.protocol))
    with transaction.atomic():
        return _update(connection, actor, changes)


def _update(connection: SsoConnection, actor: Actor, changes: dict[str, Any]) -> SsoConnection:
    _open(connection.customer)
    current = locked_connection(connection)
    secret = changes.pop("client_secret", None)
    before = {k: getattr(current, k) for k in changes}
    for field, value in changes.items():
        setattr(current, field, value)
    shown = _audit_changes(before, changes)
    for derived in ("certificate_expires_at", "idp_metadata_fetched_at"):
        shown.pop(derived, None)
    if "idp_certificate" in shown:  # the trail names the certificates by their expiry
        shown["idp_certificate"] = [
            "replaced",
            saml_metadata.expiry_words(current.certificate_expires_at),
        ]
    if secret:
        current.client_secret_encrypted = encrypt(secret)
        shown["client_secret"] = [None, "set"]  # the trail writes only that it was set
    if not shown:
        return current
    if secret or any(k in shown for k in PROVIDER_FIELDS):
        _others_keep_force_sso(current)
        shown["status"] = [current.status, SsoConnection.Status.DRAFT]
        current.status = SsoConnection.Status.DRAFT
        current.tested_at = None
        current.last_test_ok = None
    current.full_clean(exclude=["customer", "organization"])
    saml_services.check_complete(current)
    current.save()
    record(
        action=Action.SSO_CONNECTION_UPDATED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes=shown,
    )
    return current


def client_secret(connection: SsoConnection) -> str:
    return decrypt(connection.client_secret_encrypted) if connection.has_secret else ""


@transaction.atomic
def sso_connection_test_recorded(
    *, connection: SsoConnection, actor: Actor, passed: bool, result: str
) -> SsoConnection:
    """What a test sign-in found: a pass lets the connection be activated."""
    current = locked_connection(connection)
    before = current.last_test_ok
    current.last_test_ok = passed
    current.last_test_result = result
    current.tested_at = timezone.now()
    current.save(update_fields=["last_test_ok", "last_test_result", "tested_at", "updated_at"])
    record(
        action=Action.SSO_CONNECTION_TESTED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        outcome=Outcome.SUCCESS if passed else Outcome.FAILURE,
        changes={"last_test_ok": [before, passed]},
        message=result[:500],
    )
    return current


@audited(Action.SSO_CONNECTION_ACTIVATED)
@transaction.atomic
def sso_connection_activate(*, connection: SsoConnection, actor: Actor) -> SsoConnection:
    _open(connection.customer)
    current = locked_connection(connection)
    if current.is_active:
        return current
    if not current.passed_test:
        raise ServiceError(NEEDS_TEST.format(name=current.name))
    return _set_status(current, SsoConnection.Status.ACTIVE, Action.SSO_CONNECTION_ACTIVATED, actor)


@audited(Action.SSO_CONNECTION_DEACTIVATED)
@transaction.atomic
def sso_connection_deactivate(*, connection: SsoConnection, actor: Actor) -> SsoConnection:
    current = locked_connection(connection)
    if not current.is_active:
        return current
    _others_keep_force_sso(current)
    return _set_status(
        current, SsoConnection.Status.INACTIVE, Action.SSO_CONNECTION_DEACTIVATED, actor
    )


def _set_status(
    connection: SsoConnection, status: str, action: Action, actor: Actor
) -> SsoConnection:
    before = connection.status
    connection.status = status
    connection.save(update_fields=["status", "updated_at"])
    record(
        action=action,
        organization=connection.customer.organization,
        actor=actor,
        resource=connection,
        changes={"status": [before, status]},
    )
    return connection


@audited(Action.SSO_CONNECTION_DELETED)
@transaction.atomic
def sso_connection_delete(*, connection: SsoConnection, actor: Actor) -> None:
    current = locked_connection(connection)
    _others_keep_force_sso(current)
    record(
        action=Action.SSO_CONNECTION_DELETED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes={"status": [current.status, None]},
    )
    current.delete()
