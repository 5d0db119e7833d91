"""The customers app's models, one module per part of the domain; re-exported here, so
``from customers.models import Customer`` keeps working and Django finds them all."""

from customers.connections.models import Connection, ConnectionActivity
from customers.identity.domains.models import VerifiedDomain
from customers.identity.models import (
    ApiToken,
    IdempotencyKey,
    Membership,
    Organization,
    User,
    UserManager,
)
from customers.identity.sso.models import SsoConnection
from customers.people.models import CustomerUser, Invitation
from customers.platform.models import ThrottleWindow
from customers.platform.slugs import (
    SLUG_FROM_NAME_LENGTH,
    SLUG_LENGTH,
    UUID_SHAPED,
    slug_from_name,
)
from customers.platform.text import CONTROL_CHARACTERS
from customers.platform.validators import NOT_ONE_LINE, validate_single_line
from customers.records.models import (
    CLOSED_STATUSES,
    ENTITLEMENT_FIELDS,
    SLUG_LOOKS_LIKE_UUID,
    Customer,
    CustomerCount,
    CustomerStatus,
    validate_ip_allow_list,
    validate_slug_not_uuid,
)
from customers.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

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
    "SsoConnection",
    "ThrottleWindow",
    "User",
    "UserManager",
    "VerifiedDomain",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "slug_from_name",
    "validate_ip_allow_list",
    "validate_single_line",
    "validate_slug_not_uuid",
]
