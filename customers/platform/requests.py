"""The request as our middleware and gates leave it, for the type checker: what
``request.organization``, ``request.customer`` and the rest are, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_htmx.middleware import HtmxDetails

    from customers.identity.models import Membership, Organization, User
    from customers.people.models import CustomerUser
    from customers.records.models import Customer


class TenantRequest(HttpRequest):
    """Any request, past the middleware: CurrentOrganizationMiddleware sets the organization
    (None for a visitor or a customer's user), django-htmx ``htmx``, ours ``request_id``."""

    user: User | AnonymousUser
    organization: Organization | None
    membership: Membership | None
    memberships: list[Membership]
    htmx: HtmxDetails
    request_id: str


class AuthedRequest(TenantRequest):
    """Past a gate: a console page (organization_required: a member, in an organization), a
    portal page (portal_page: a customer's user, with ``customer`` and ``seat``) or an API
    operation (django-ninja's auth puts the API key on ``auth``)."""

    user: User
    organization: Organization
    membership: Membership
    customer: Customer
    seat: CustomerUser
    auth: Any
