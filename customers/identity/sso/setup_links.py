"""SSO setup links: the organization sends one to a customer's IT contact, who may have no
account, and it opens that customer's SSO setup. A link works once (its first opening binds
it to that browser for an hour), within seven days, and only for its own customer. It is
stored as a SHA-256 hash; making, opening and revoking one are audited."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.domains.models import VerifiedDomain
from customers.identity.models import User
from customers.identity.sso.models import OPEN_FOR, SsoSetupLink
from customers.people.models import CustomerUser
from customers.platform import mail
from customers.platform.errors import Conflict, Invalid, ServiceError
from customers.records.models import Customer
from customers.records.services.common import audited, locked_customer

logger = logging.getLogger(__name__)

VALID_FOR = timedelta(days=7)
SESSION_LASTS = OPEN_FOR

UNUSABLE = {
    "used": "This setup link was already opened. Ask {org} for a new one.",
    "expired": "This setup link has expired. Ask {org} for a new one.",
    "revoked": "This setup link was withdrawn. Ask {org} for a new one.",
}
UNKNOWN = "This setup link is not valid. Check that the whole link was copied."
NOT_AT_A_VERIFIED_DOMAIN = (
    "Send setup links to an address at one of {name}'s verified domains ({domains}): whoever "
    "holds the link chooses the identity provider its people sign in through."
)
NO_VERIFIED_DOMAIN = (
    "{name} has no verified domain yet. Setup links go to an address at one of its verified "
    "domains: verify one first."
)
CLOSED = "{name} is {status}: its SSO cannot be set up now."


class SetupLinkUnusable(Conflict):
    """The link cannot open the setup (used, expired, withdrawn, unknown)."""

    def __init__(self, message: str, link: SsoSetupLink | None = None) -> None:
        super().__init__(message)
        self.link = link


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def setup_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('sso_setup_landing', args=[token])}"


@audited(Action.SSO_SETUP_LINK_SENT)
@transaction.atomic
def setup_link_create(*, customer: Customer, email: str, actor: User) -> tuple[SsoSetupLink, str]:
    """A new link for ``customer``'s IT contact at ``email``, emailed after the commit: the
    link and the token to show once."""
    current = locked_customer(customer)
    if current.is_closed:
        status = current.get_status_display().lower()
        raise ServiceError(CLOSED.format(name=current.name, status=status))
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise Invalid(f"“{email}” is not a valid email address.") from None
    _check_domain(current, email)
    token = secrets.token_urlsafe(32)
    link = SsoSetupLink.objects.create(
        organization_id=current.organization_id,
        customer=current,
        email=email,
        token_hash=_hash(token),
        created_by=actor,
        expires_at=timezone.now() + VALID_FOR,
    )
    record(
        action=Action.SSO_SETUP_LINK_SENT,
        organization=current.organization,
        actor=actor,
        resource=link,
        changes={"email": [None, email]},
    )
    context: dict[str, object] = {
        "customer": current.name,
        "organization": current.organization.name,
    }
    context |= {"url": setup_url(token), "expires_at": link.expires_at, "inviter": actor.email}
    transaction.on_commit(lambda: _send(email, context))
    return link, token


def _check_domain(customer: Customer, email: str) -> None:
    """The link may only go to someone at the customer's own, proven, mail domain."""
    domains = sorted(
        VerifiedDomain.objects.for_customer(customer)
        .filter(status=VerifiedDomain.Status.VERIFIED)
        .values_list("domain", flat=True)
    )
    if not domains:
        raise ServiceError(NO_VERIFIED_DOMAIN.format(name=customer.name))
    if email.rsplit("@", 1)[1] not in domains:
        raise Invalid(
            NOT_AT_A_VERIFIED_DOMAIN.format(name=customer.name, domains=", ".join(domains))
        )


def _send(email: str, context: dict[str, object]) -> None:
    try:
        mail.send(mail.letter("customers/email/sso_setup", context), [email])
    except Exception:  # the link is saved and shown once; the console can copy it
        logger.exception("The SSO setup link to %s could not be emailed", email)


def setup_link_open(*, token: str) -> SsoSetupLink:
    """Open the link a token names, once. Raises SetupLinkUnusable with the reason; a known
    link's refusal is audited (after the refused transaction rolled back)."""
    try:
        return _open(token)
    except SetupLinkUnusable as refusal:
        if refusal.link is not None:
            record(
                action=Action.SSO_SETUP_LINK_OPENED,
                organization=refusal.link.customer.organization,
                actor=refusal.link,
                resource=refusal.link,
                outcome=Outcome.DENIED,
                message=str(refusal),
            )
        raise


@transaction.atomic
def _open(token: str) -> SsoSetupLink:
    link: SsoSetupLink | None = (
        SsoSetupLink.objects.by_secret()
        .select_for_update(of=("self",))
        .select_related("customer__organization")
        .filter(token_hash=_hash(token))
        .first()
        if token and len(token) <= 200
        else None
    )
    if link is None:
        raise SetupLinkUnusable(UNKNOWN)
    if link.state != "pending":
        org = link.customer.organization.name
        raise SetupLinkUnusable(UNUSABLE[link.state].format(org=org), link)
    customer = link.customer
    if customer.is_closed:
        status = customer.get_status_display().lower()
        raise SetupLinkUnusable(CLOSED.format(name=customer.name, status=status), link)
    link.opened_at = timezone.now()
    link.save(update_fields=["opened_at"])
    record(
        action=Action.SSO_SETUP_LINK_OPENED,
        organization=customer.organization,
        actor=link,
        resource=link,
        changes={"opened_at": [None, link.opened_at.isoformat()]},
    )
    return link


@audited(Action.SSO_SETUP_LINK_REVOKED)
@transaction.atomic
def setup_link_revoke(*, link: SsoSetupLink, actor: User) -> SsoSetupLink:
    current: SsoSetupLink = (
        SsoSetupLink.objects.for_customer(link.customer).select_for_update().get(pk=link.pk)
    )
    if current.revoked_at:
        return current
    current.revoked_at = timezone.now()
    current.save(update_fields=["revoked_at"])
    record(
        action=Action.SSO_SETUP_LINK_REVOKED,
        organization=link.customer.organization,
        actor=actor,
        resource=current,
        changes={"revoked_at": [None, current.revoked_at.isoformat()]},
    )
    return current


def activation_announced(*, link: SsoSetupLink, connection_name: str) -> None:
    """A link's holder switched a connection on: the customer's admins and whoever sent the
    link hear of it, since people now sign in through a provider someone outside chose."""
    customer = link.customer
    to = set(CustomerUser.admin_emails(customer))
    if link.created_by is not None:
        to.add(link.created_by.email)
    context = {"customer": customer.name, "connection": connection_name, "who": link.email}
    try:
        mail.send(mail.letter("customers/email/sso_setup_activated", context), sorted(to))
    except Exception:  # the activation stands and is audited; the notice is logged
        logger.exception("The SSO activation notice for %s could not be emailed", customer.name)
