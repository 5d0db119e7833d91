"""What other apps may read of the customers app, and the one door they read it through.

Billing and audit name these models in their foreign keys, type hints and their own queries
(each still scoped by ``for_organization`` or a named cross-tenant read); they never import the
customers app's model modules. A write they need calls the customers service that owns it."""

from __future__ import annotations

from customers.connections.models import Connection
from customers.identity.models import ApiToken, Membership, Organization, User
from customers.people.models import CustomerUser, Invitation
from customers.records.models import (
    CLOSED_STATUSES,
    ENTITLEMENT_FIELDS,
    Customer,
    CustomerStatus,
)

__all__ = [
    "CLOSED_STATUSES",
    "ENTITLEMENT_FIELDS",
    "ApiToken",
    "Connection",
    "Customer",
    "CustomerStatus",
    "CustomerUser",
    "Invitation",
    "Membership",
    "Organization",
    "User",
]
