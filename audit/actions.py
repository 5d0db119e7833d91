"""The catalogue of audited actions: what the Audit Log's "Action type" filter offers.

Every action the code records is listed here (tests/audit/test_action_catalogue.py reads the
source and fails on one that is missing). Support's admin edits are recorded as
"<model>.created_by_support" and the like, and are found through their family."""

from __future__ import annotations

ACTIONS = (
    "alert_thresholds.changed",
    "api.denied",
    "api_token.created",
    "api_token.revoked",
    "audit.archived",
    "audit_log.exported",
    "audit_settings.changed",
    "connection.activity_reported",
    "connection.created",
    "connection.health_changed",
    "connection.relink_alert_emailed",
    "connection.revoked",
    "connection.revoked_all",
    "connection.status_changed",
    "customer.activated",
    "customer.admin_changed",
    "customer.admin_replaced",
    "customer.created",
    "customer.deleted",
    "customer.purged",
    "customer.reactivated",
    "customer.restored",
    "customer.suspended",
    "customer.updated",
    "customer.viewed",
    "customer_user.locked",
    "customer_user.removed",
    "customer_user.role_changed",
    "invite.accepted",
    "invite.email_failed",
    "invite.expired",
    "invite.resent",
    "invite.revoked",
    "invite.sent",
    "limit.changed",
    "limit.reset",
    "log_stream.created",
    "log_stream.deleted",
    "log_stream.test_sent",
    "log_stream.updated",
    "login.failed",
    "login.refused",
    "login.succeeded",
    "logout",
    "membership.added",
    "membership.alert_emails_changed",
    "organization.created",
    "password.changed",
    "password.reset",
    "password_reset.requested",
    "password_reset.throttled",
    "permission.denied",
    "plan.entitlements_changed",
    "plan_limit.changed",
    "pooled_cap.changed",
    "quota.exceeded",
    "two_factor.failed",
    "usage.alert_email_failed",
    "usage.alert_emailed",
    "usage.digest_sent",
    "usage.forecast_exceeds",
    "usage.threshold_crossed",
    "user.password_set_by_support",
    "webhook.replayed",
    "webhook.test_sent",
    "webhook_endpoint.created",
    "webhook_endpoint.deleted",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.updated",
    "workflow.created",
)


# Words that are not simply the code with spaces.
NAMES = {
    "api": "API",
    "api_token": "API key",
    "audit_log": "Audit Log",
    "two_factor": "two-factor",
    "logout": "sign-out",
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
