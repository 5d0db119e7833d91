"""Which organization a signed-in person is working in, on every request."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Exists
from django.http import HttpRequest, HttpResponse

from customers.identity.models import Membership, User
from customers.identity.signals import SESSION_SSO_CUSTOMER
from customers.people.models import CustomerUser
from customers.platform.requests import TenantRequest

SESSION_KEY = "organization_id"
SEAT_ATTRIBUTE = "_current_seat"


def current_seat(request: TenantRequest) -> CustomerUser | None:
    """The signed-in person's seat in a customer (CustomerUser.seat_of), looked up once per
    request however many checks ask. A session that signed in through a customer's SSO has
    that customer's seat only: that provider vouches for nothing else."""
    if SEAT_ATTRIBUTE not in request.__dict__:
        user = getattr(request, "user", None)
        through = _sso_customer(request)
        found = None
        if isinstance(user, User):
            seats = CustomerUser.seats_of(user)
            found = (seats.filter(customer_id=through) if through else seats).first()
        request.__dict__[SEAT_ATTRIBUTE] = found
    seat: CustomerUser | None = request.__dict__[SEAT_ATTRIBUTE]
    return seat


def _sso_customer(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    return session.get(SESSION_SSO_CUSTOMER) if session is not None else None


class CurrentOrganizationMiddleware:
    """Puts the organization the signed-in user is working in on ``request.organization``
    (with ``request.membership`` and ``request.memberships`` for the switcher).

    The choice lives in the session; it can only ever be one of the user's own memberships.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        request.organization = None
        request.membership = None
        request.memberships = []
        user = getattr(request, "user", None)
        # A session signed in through a customer's SSO reaches that customer's portal only.
        if user is not None and user.is_authenticated and not _sso_customer(request):
            memberships: list[Membership] = list(
                Membership.objects.filter(user=user)
                .select_related("organization")
                # The account menu's portal link, in this query rather than one of its own.
                .annotate(has_portal=Exists(CustomerUser.seats_of(user)))
                .order_by("organization__name")
            )
            request.memberships = memberships
            chosen = request.session.get(SESSION_KEY)
            current = next(
                (m for m in memberships if str(m.organization_id) == chosen),
                memberships[0] if memberships else None,
            )
            if current is not None:
                request.membership = current
                request.organization = current.organization
        return self.get_response(request)
