"""Who may sign in with a password, and the audit entry of each refusal: the sign-in page, the
portal's every request and an accepted invitation all ask here. And the break-glass sign-in:
an admin the customer marked may still use a password while SSO is forced, seen by all."""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.http import HttpRequest

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import User
from customers.people.models import CustomerUser
from customers.platform import mail

logger = logging.getLogger(__name__)


def password_sign_in_refused(user: User, request: HttpRequest | None) -> str | None:
    """Why ``user`` may not sign in with a password (audited as denied), or None."""
    refusal = sign_in_refusal(user)
    if refusal:
        _record_refusal(user, refusal, request)
    return refusal


def _record_refusal(user: User, refusal: str, request: HttpRequest | None) -> None:
    seat = CustomerUser.seat_of(user)
    record(
        action=Action.LOGIN_REFUSED,
        organization=seat.customer.organization if seat else None,
        actor=user,
        resource=user,
        resource_type="user",
        outcome=Outcome.DENIED,
        message=refusal,
        request=request,
    )


def _breaks_glass(seat: CustomerUser) -> bool:
    return seat.break_glass and seat.is_admin and not seat.locked


def break_glass_signed_in(user: User, request: HttpRequest | None) -> None:
    """A password sign-in past forced SSO: audited, and each other admin is told by email."""
    for seat in CustomerUser.seats_of(user):
        if not (seat.customer.force_sso and _breaks_glass(seat)):
            continue
        customer = seat.customer
        record(
            action=Action.SSO_BREAK_GLASS_SIGN_IN,
            organization=customer.organization,
            actor=user,
            resource=seat,
            message=f"{user.email} signed in to {customer.name} with a password while SSO is "
            "forced (break-glass).",
            request=request,
        )
        others = [e for e in CustomerUser.admin_emails(customer) if e != user.email]
        context = {"who": user.email, "customer": customer.name}
        transaction.on_commit(functools.partial(_tell, others, context))


def _tell(addresses: list[str], context: dict[str, str]) -> None:
    try:
        mail.send(mail.letter("customers/email/break_glass", context), addresses)
    except OSError:  # the audit entry stands; the mail server's failure is logged
        logger.exception("break-glass notice not sent")


def sign_in_refusal(user: User) -> str | None:
    """Why a customer user may not sign in with a password, or None.

    Only people whose sole access is through customers are refused: a SaaS admin who also
    belongs to a customer still signs in to the console.
    """
    if user.memberships.exists():
        return None
    seats = list(CustomerUser.seats_of(user))
    if not seats:
        return None
    for seat in seats:
        if seat.customer.force_sso and not _breaks_glass(seat):
            return (
                f"{seat.customer.name} requires single sign-on (SSO): sign in through your "
                "company's SSO provider instead of a password."
            )
    if all(s.customer.is_closed for s in seats):
        customer = seats[0].customer
        return (
            f"{customer.name} is {customer.get_status_display().lower()}, so its users can't "
            f"sign in. Contact {customer.organization.name} to have it {customer.reopened_by}."
        )
    return None
