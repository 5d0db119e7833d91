"""The customers app's API: token authentication and one module per resource. ``router`` mounts
them; config/api.py mounts it beside the billing and audit routers."""

from __future__ import annotations

from ninja import Router

from customers.api import (
    connections,
    customer,
    invitations,
    listing,
    organization,
    users,
    webhooks,
)
from customers.api.auth import token_auth

router = Router()
for module in (organization, customer, users, listing, invitations, connections, webhooks):
    router.add_router("/", module.router)

__all__ = ["router", "token_auth"]
