"""The request as our middleware and gates leave it, for the type checker: what
``request.organization``, ``request.customer`` and the rest are, in one declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_htmx.middleware import HtmxDetails

    from customers.models import Customer, CustomerUser, Membership, Organization, User


class AuthedRequest(HttpRequest):
    """Set by CurrentOrganizationMiddleware (organization, membership, memberships), by the
    portal's gate (customer, seat), by django-htmx (htmx), by the request-id middleware
    (request_id) and by django-ninja's auth (auth: the API key)."""

    user: User | AnonymousUser
    organization: Organization | None
    membership: Membership | None
    memberships: list[Membership]
    customer: Customer
    seat: CustomerUser
    htmx: HtmxDetails
    request_id: str
    auth: Any
