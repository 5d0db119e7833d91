"""The catalogue of audited actions: what the Audit Log's "Action type" filter offers.

Every action the code records is a member of ``Action``: ``record()`` takes nothing else, so mypy
refuses an action missing from here. Actions named after any model (support's admin edits,
"<model>.viewed") come from ``model_action()`` and are found through their family."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType


class Action(StrEnum):
    """Every action the code records under its own name."""

    ALERT_THRESHOLDS_CHANGED = "alert_thresholds.changed"
    API_DENIED = "api.denied"
    API_TOKEN_CREATED = "api_token.created"
    API_TOKEN_REVOKED = "api_token.revoked"
    AUDIT_ARCHIVED = "audit.archived"
    AUDIT_LOG_EXPORTED = "audit_log.exported"
    AUDIT_SETTINGS_CHANGED = "audit_settings.changed"
    CONNECTION_ACTIVITY_REPORTED = "connection.activity_reported"
    CONNECTION_CREATED = "connection.created"
    CONNECTION_HEALTH_CHANGED = "connection.health_changed"
    CONNECTION_RELINK_ALERT_EMAILED = "connection.relink_alert_emailed"
    CONNECTION_REVOKED = "connection.revoked"
    CONNECTION_REVOKED_ALL = "connection.revoked_all"
    CONNECTION_STATUS_CHANGED = "connection.status_changed"
    CUSTOMER_ACTIVATED = "customer.activated"
    CUSTOMER_ADMIN_CHANGED = "customer.admin_changed"
    CUSTOMER_ADMIN_REPLACED = "customer.admin_replaced"
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_DELETED = "customer.deleted"
    CUSTOMER_PURGED = "customer.purged"
    CUSTOMER_REACTIVATED = "customer.reactivated"
    CUSTOMER_RESTORED = "customer.restored"
    CUSTOMER_SUSPENDED = "customer.suspended"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_VIEWED = "customer.viewed"
    CUSTOMER_USER_BREAK_GLASS_CHANGED = "customer_user.break_glass_changed"
    CUSTOMER_USER_LOCKED = "customer_user.locked"
    CUSTOMER_USER_PROVISIONED = "customer_user.provisioned"
    CUSTOMER_USER_REMOVED = "customer_user.removed"
    CUSTOMER_USER_ROLE_CHANGED = "customer_user.role_changed"
    CUSTOMER_USER_UNLOCKED = "customer_user.unlocked"
    DOMAIN_ADDED = "domain.added"
    DOMAIN_REMOVED = "domain.removed"
    DOMAIN_VERIFICATION_FAILED = "domain.verification_failed"
    DOMAIN_VERIFIED = "domain.verified"
    INVITE_ACCEPTED = "invite.accepted"
    INVITE_EMAIL_FAILED = "invite.email_failed"
    INVITE_EXPIRED = "invite.expired"
    INVITE_RESENT = "invite.resent"
    INVITE_REVOKED = "invite.revoked"
    INVITE_SENT = "invite.sent"
    LIMIT_CHANGED = "limit.changed"
    LIMIT_RESET = "limit.reset"
    LOG_STREAM_CREATED = "log_stream.created"
    LOG_STREAM_DELETED = "log_stream.deleted"
    LOG_STREAM_TEST_SENT = "log_stream.test_sent"
    LOG_STREAM_UPDATED = "log_stream.updated"
    LOGIN_FAILED = "login.failed"
    LOGIN_REFUSED = "login.refused"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGOUT = "logout"
    MEMBERSHIP_ADDED = "membership.added"
    MEMBERSHIP_ALERT_EMAILS_CHANGED = "membership.alert_emails_changed"
    MEMBERSHIP_CHANGED = "membership.changed"
    ORGANIZATION_CREATED = "organization.created"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_RESET = "password.reset"
    PASSWORD_RESET_REQUESTED = "password_reset.requested"
    PASSWORD_RESET_THROTTLED = "password_reset.throttled"
    PERMISSION_DENIED = "permission.denied"
    PLAN_ENTITLEMENTS_CHANGED = "plan.entitlements_changed"
    PLAN_LIMIT_CHANGED = "plan_limit.changed"
    POOLED_CAP_CHANGED = "pooled_cap.changed"
    PORTAL_IP_DENIED = "portal.ip_denied"
    QUOTA_EXCEEDED = "quota.exceeded"
    SSO_BREAK_GLASS_SIGN_IN = "sso.break_glass_sign_in"
    SSO_CERTIFICATE_EXPIRING = "sso.certificate_expiring"
    SSO_CONNECTION_ACTIVATED = "sso_connection.activated"
    SSO_CONNECTION_CREATED = "sso_connection.created"
    SSO_CONNECTION_DEACTIVATED = "sso_connection.deactivated"
    SSO_CONNECTION_DELETED = "sso_connection.deleted"
    SSO_CONNECTION_TESTED = "sso_connection.tested"
    SSO_CONNECTION_UPDATED = "sso_connection.updated"
    SSO_REFUSED = "sso.refused"
    SSO_SETUP_LINK_OPENED = "sso_setup_link.opened"
    SSO_SETUP_LINK_REVOKED = "sso_setup_link.revoked"
    SSO_SETUP_LINK_SENT = "sso_setup_link.sent"
    SSO_SIGNED_IN = "sso.signed_in"
    TWO_FACTOR_ENABLED = "two_factor.enabled"
    TWO_FACTOR_FAILED = "two_factor.failed"
    TWO_FACTOR_VERIFIED = "two_factor.verified"
    USAGE_ALERT_EMAIL_FAILED = "usage.alert_email_failed"
    USAGE_ALERT_EMAILED = "usage.alert_emailed"
    USAGE_DIGEST_SENT = "usage.digest_sent"
    USAGE_FORECAST_EXCEEDS = "usage.forecast_exceeds"
    USAGE_THRESHOLD_CROSSED = "usage.threshold_crossed"
    USER_PASSWORD_SET_BY_SUPPORT = "user.password_set_by_support"
    WEBHOOK_REPLAYED = "webhook.replayed"
    WEBHOOK_TEST_SENT = "webhook.test_sent"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
    WORKFLOW_CREATED = "workflow.created"


ACTIONS = tuple(Action)


# Actions named after any model: support's edits in the Django admin ("<model>.created_by_support"
# and the like) and who viewed a record ("<model>.viewed", when the organization audits reads).
# One family per model, found in the Audit Log through their family.
ModelAction = NewType("ModelAction", str)
MODEL_VERBS = ("created_by_support", "updated_by_support", "deleted_by_support", "viewed")


def model_action(model_name: str, verb: str) -> ModelAction:
    if verb not in MODEL_VERBS:
        raise ValueError(f"not an action named after a model: {verb}")
    return ModelAction(f"{model_name}.{verb}")


# Words that are not simply the code with spaces.
NAMES = {
    "api": "API",
    "api_token": "API key",
    "audit_log": "Audit Log",
    "two_factor": "two-factor",
    "logout": "sign-out",
    "sso": "SSO",
    "sso_connection": "SSO connection",
    "sso_setup_link": "SSO setup link",
}


def _words(name: str) -> str:
    return NAMES.get(name, name.replace("_", " "))


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def action_label(action: str) -> str:
    """One label per action, as the filter offers it: "login.succeeded" → "Login succeeded"."""
    family, _, verb = action.partition(".")
    return _capital(_words(family) + (f" {_words(verb)}" if verb else ""))


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped by family: "Any customer action" (every customer.*), then each action. A family
    of one action without a verb (logout) is that one choice."""
    families: dict[str, list[tuple[str, str]]] = {}
    for action in ACTIONS:
        family, _, verb = action.partition(".")
        if not verb:
            families[family] = [(family, _capital(_words(family)))]
            continue
        group = families.setdefault(family, [(family, f"Any {_words(family)} action")])
        group.append((action, f"{_capital(_words(family))} {_words(verb)}"))
    return [(_capital(_words(family)), group) for family, group in families.items()]
