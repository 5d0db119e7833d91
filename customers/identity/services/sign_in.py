"""Who may sign in with a password, and the audit entry of each refusal: the sign-in page, the
portal's every request and an accepted invitation all ask here."""

from __future__ import annotations

from django.http import HttpRequest

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import User
from customers.people.models import CustomerUser


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
        if seat.customer.force_sso:
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
