"""When a customer may force SSO: only while a connection is active and its test has passed,
so forcing it can never lock the customer's people out. Kept apart from the SSO services so
the customer record's own service can ask without importing them."""

from __future__ import annotations

from customers.identity.sso.models import SsoConnection
from customers.records.models import Customer

FORCE_SSO_NEEDS_CONNECTION = (
    "{customer} has no active, tested SSO connection, so forcing SSO would lock everyone out. "
    "Set up a connection, test it and activate it first."
)


def force_sso_refusal(customer: Customer) -> str | None:
    """Why ``force_sso`` cannot be switched on for ``customer`` now, or None."""
    if (
        SsoConnection.objects.for_customer(customer)
        .filter(status=SsoConnection.Status.ACTIVE, last_test_ok=True)
        .exists()
    ):
        return None
    return FORCE_SSO_NEEDS_CONNECTION.format(customer=customer.name)
