"""The customers app's API router: one module per resource, each in its domain's package.
``router`` mounts them; config/api.py mounts it beside the billing and audit routers."""

from __future__ import annotations

from ninja import Router

from customers.connections import api as connections
from customers.identity.api import organization
from customers.identity.domains import api as domains
from customers.identity.sso import api as sso
from customers.people.api import invitations, users
from customers.records.api import customer, listing
from customers.webhooks import api as webhooks

router = Router()
for module in (
    organization,
    customer,
    users,
    listing,
    invitations,
    connections,
    domains,
    sso,
    webhooks,
):
    router.add_router("/", module.router)

__all__ = ["router"]
