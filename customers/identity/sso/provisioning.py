"""The sign-in an SSO connection makes: who the provider's checked ID token names, and the
seat that person gets (their own, or a new one made just in time within the seat limit, with
the role their groups map to). Refusals are audited as sso.refused."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.domains.models import VerifiedDomain
from customers.identity.models import User
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import locked_connection
from customers.people.models import CustomerUser
from customers.people.services.invitations import check_seats
from customers.platform.errors import Denied, ServiceError
from customers.records.models import Customer
from customers.records.services.common import locked_customer

# Why a sign-in was refused, in the words the person sees.
NO_EMAIL = (
    "Your identity provider did not send an email address (claim “{claim}”). Ask your IT "
    "team to release it to Tenantry."
)
EMAIL_UNVERIFIED = "Your identity provider says {email} is not verified."
DOMAIN_NOT_VERIFIED = (
    "{domain} is not a verified domain of {customer}, so {email} cannot sign in through its "
    "SSO. Ask an admin of {customer} to verify the domain."
)
NOT_PROVISIONED = (
    "{email} has no account at {customer} yet, and this connection does not create accounts. "
    "Ask an admin of {customer} to invite you."
)
SEATS_FULL = (
    "{customer} has used all of its seats, so no new account can be made for you. Ask an "
    "admin of {customer} to free a seat."
)
SEAT_LOCKED = "Your account at {customer} was locked by one of its admins. Ask them to unlock it."
CUSTOMER_CLOSED = "{customer} is {status}, so its people cannot sign in."
USER_INACTIVE = "This account is deactivated. Contact {organization}."
ORGANIZATION_MEMBER = (
    "{email} belongs to an organization's console, and those accounts sign in with their "
    "password: single sign-on through a customer's provider cannot reach them."
)
CONNECTION_INACTIVE = "“{name}” is not active, so it signs nobody in."


class SignInRefused(Denied):
    """An SSO sign-in that cannot go on; the message is for the person signing in."""


def email_of(connection: SsoConnection, claims: dict[str, Any]) -> str:
    """The person's email from the token, lower case, or SignInRefused."""
    email = claims.get(connection.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused(NO_EMAIL.format(claim=connection.email_claim))
    # Entra ID sends no email_verified at all; a provider that says "not verified", as a
    # boolean or as Cognito's string, is believed.
    if str(claims.get("email_verified", "")).lower() == "false":
        raise SignInRefused(EMAIL_UNVERIFIED.format(email=email))
    return User.objects.normalize_email(email.strip()).lower()


def _domain_verified(customer: Customer, email: str) -> bool:
    domain = email.rsplit("@", 1)[1]
    return bool(
        VerifiedDomain.objects.for_customer(customer)
        .filter(domain=domain, status=VerifiedDomain.Status.VERIFIED)
        .exists()
    )


def _display_name(connection: SsoConnection, claims: dict[str, Any]) -> str:
    parts = [claims.get(connection.first_name_claim), claims.get(connection.last_name_claim)]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())[:150]


def _person(email: str, name: str) -> User:
    """The user with this email, made (without a usable password) if there is none. Two first
    sign-ins at once both end with the one row."""
    existing = User.objects.filter(email__iexact=email).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return User.objects.create(email=email, name=name, password=make_password(None))
    except IntegrityError:
        return User.objects.get(email__iexact=email)


def _refused(connection: SsoConnection, email: str, reason: str) -> SignInRefused:
    record(
        action=Action.SSO_REFUSED,
        organization=connection.customer.organization,
        actor=None,
        actor_label=email,
        resource=connection,
        outcome=Outcome.DENIED,
        message=reason,
    )
    return SignInRefused(reason)


def sso_sign_in(*, connection: SsoConnection, claims: dict[str, Any]) -> CustomerUser:
    """The seat a checked ID token signs in to: the person's own, or (with provisioning on and
    the email's domain verified by the customer) a new one within the seat limit. Refusals
    are audited as sso.refused and raise SignInRefused."""
    email = ""
    try:
        email = email_of(connection, claims)
        with transaction.atomic():
            return _seat_for(connection, email, claims)
    except SignInRefused as refusal:
        raise _refused(connection, email, str(refusal)) from None


def _check_open(current: SsoConnection, customer: Customer, email: str) -> None:
    """The connection, the customer and the email's domain all allow a sign-in."""
    if not current.is_active:
        raise SignInRefused(CONNECTION_INACTIVE.format(name=current.name))
    if customer.is_closed:
        status = customer.get_status_display().lower()
        raise SignInRefused(CUSTOMER_CLOSED.format(customer=customer.name, status=status))
    if not _domain_verified(customer, email):
        raise SignInRefused(
            DOMAIN_NOT_VERIFIED.format(
                domain=email.rsplit("@", 1)[1], customer=customer.name, email=email
            )
        )
    person = User.objects.filter(email__iexact=email).first()
    if person is not None and person.memberships.exists():
        raise SignInRefused(ORGANIZATION_MEMBER.format(email=email))


def _seat_for(connection: SsoConnection, email: str, claims: dict[str, Any]) -> CustomerUser:
    customer = locked_customer(connection.customer)
    current = locked_connection(connection)
    _check_open(current, customer, email)
    seat: CustomerUser | None = (
        CustomerUser.objects.for_customer(customer)
        .filter(user__email__iexact=email)
        .select_related("user")
        .first()
    )
    if seat is None:
        seat = _provision(current, customer, email, claims)
    else:
        _follow_groups(current, seat, claims)
    if seat.locked:
        raise SignInRefused(SEAT_LOCKED.format(customer=customer.name))
    if not seat.user.is_active:
        raise SignInRefused(USER_INACTIVE.format(organization=customer.organization.name))
    current.last_signed_in_at = timezone.now()
    current.save(update_fields=["last_signed_in_at"])
    record(
        action=Action.SSO_SIGNED_IN,
        organization=customer.organization,
        actor=seat.user,
        resource=current,
        message=f"{email} signed in to {customer.name} through “{current.name}”.",
    )
    return seat


def _follow_groups(connection: SsoConnection, seat: CustomerUser, claims: dict[str, Any]) -> None:
    """With group roles set and the groups claim sent, the seat's role follows the provider's
    groups at every sign-in (someone moved out of "it-admins" stops being an admin), except
    that the customer's last admin stays one."""
    if not connection.group_roles or connection.groups_claim not in claims:
        return
    role = connection.role_for(claims[connection.groups_claim])
    if role == seat.role:
        return
    if seat.is_admin and not _other_admins(seat):
        return
    before, seat.role = seat.role, role
    changes: dict[str, list[Any]] = {"role": [before, role]}
    if seat.break_glass and not seat.is_admin:
        seat.break_glass = False
        changes["break_glass"] = [True, False]
    seat.save(update_fields=["role", "break_glass", "updated_at"])
    record(
        action=Action.CUSTOMER_USER_ROLE_CHANGED,
        organization=seat.customer.organization,
        actor=None,
        actor_label=f"SSO connection “{connection.name}”",
        resource=seat,
        changes=changes,
        message="The role follows the provider's groups at sign-in.",
    )


def _other_admins(seat: CustomerUser) -> bool:
    return bool(
        CustomerUser.objects.for_customer(seat.customer)
        .filter(role=CustomerUser.Role.SUPERUSER, locked=False)
        .exclude(pk=seat.pk)
        .exists()
    )


def _provision(
    connection: SsoConnection, customer: Customer, email: str, claims: dict[str, Any]
) -> CustomerUser:
    """Just-in-time: the first sign-in makes the seat, with the role the groups map to."""
    if not connection.provision_users:
        raise SignInRefused(NOT_PROVISIONED.format(email=email, customer=customer.name))
    try:
        check_seats(customer)  # under the customer's lock: two first sign-ins cannot both fit
    except ServiceError:
        raise SignInRefused(SEATS_FULL.format(customer=customer.name)) from None
    person = _person(email, _display_name(connection, claims))
    role = connection.role_for(claims.get(connection.groups_claim))
    seat: CustomerUser = CustomerUser.objects.create(
        organization_id=customer.organization_id, customer=customer, user=person, role=role
    )
    seat.user = person
    record(
        action=Action.CUSTOMER_USER_PROVISIONED,
        organization=customer.organization,
        actor=person,
        resource=seat,
        resource_label=f"{email} → {customer.name}",
        changes={"role": [None, role]},
        message=f"Created at the first sign-in through “{connection.name}”.",
    )
    return seat
