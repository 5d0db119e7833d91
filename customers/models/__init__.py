"""The customers app's models, one module per part of the domain; re-exported here, so
``from customers.models import Customer`` keeps working and Django finds them all."""

from customers.models.connections import Connection, ConnectionActivity
from customers.models.customer import (
    CLOSED_STATUSES,
    ENTITLEMENT_FIELDS,
    SLUG_LOOKS_LIKE_UUID,
    Customer,
    CustomerCount,
    CustomerStatus,
    validate_ip_allow_list,
    validate_slug_not_uuid,
)
from customers.models.identity import (
    ApiToken,
    IdempotencyKey,
    Membership,
    Organization,
    User,
    UserManager,
)
from customers.models.people import CustomerUser, Invitation
from customers.models.slugs import (
    SLUG_FROM_NAME_LENGTH,
    SLUG_LENGTH,
    UUID_SHAPED,
    slug_from_name,
)
from customers.models.text import CONTROL_CHARACTERS, NOT_ONE_LINE, validate_single_line
from customers.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from customers.platform.models import ThrottleWindow

__all__ = [
    "CLOSED_STATUSES",
    "CONTROL_CHARACTERS",
    "ENTITLEMENT_FIELDS",
    "NOT_ONE_LINE",
    "SLUG_FROM_NAME_LENGTH",
    "SLUG_LENGTH",
    "SLUG_LOOKS_LIKE_UUID",
    "UUID_SHAPED",
    "ApiToken",
    "Connection",
    "ConnectionActivity",
    "Customer",
    "CustomerCount",
    "CustomerStatus",
    "CustomerUser",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Organization",
    "ThrottleWindow",
    "User",
    "UserManager",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "slug_from_name",
    "validate_ip_allow_list",
    "validate_single_line",
    "validate_slug_not_uuid",
]
