"""The customers app's pages: sign-in and account, API keys and webhooks settings, the console
(customers, their domains), invitations, the portal."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from customers.identity import views as account
from customers.identity.domains import views as domains
from customers.identity.sso import saml_views as sso_saml
from customers.identity.sso import setup_views as sso_setup
from customers.identity.sso import sign_in as sso_sign_in
from customers.identity.sso import views as sso
from customers.people import views as invites
from customers.portal import two_factor
from customers.portal import views as portal
from customers.records import views as console
from customers.webhooks import views as webhooks

urlpatterns: list[URLPattern | URLResolver] = [
    path("", account.home, name="home"),
    path("accounts/login/", sso_sign_in.SignInView.as_view(), name="login"),
    path("sso/<uuid:connection_id>/start/", sso_sign_in.sso_start, name="sso_start"),
    path(
        "sso/oidc/<uuid:connection_id>/callback/",
        sso_sign_in.sso_oidc_callback,
        name="sso_oidc_callback",
    ),
    path(
        "sso/saml/<uuid:connection_id>/metadata/",
        sso_saml.sso_saml_metadata,
        name="sso_saml_metadata",
    ),
    path("sso/saml/<uuid:connection_id>/acs/", sso_saml.sso_saml_acs, name="sso_saml_acs"),
    path("sso/saml/continue/", sso_saml.sso_saml_continue, name="sso_saml_continue"),
    path("sso/setup/", sso_setup.sso_setup, name="sso_setup"),
    path(
        "sso/setup/<uuid:connection_id>/",
        sso_setup.sso_setup_connection,
        name="sso_setup_connection",
    ),
    path("sso/setup/<uuid:connection_id>/test", sso_setup.sso_setup_test, name="sso_setup_test"),
    *[
        path(
            f"sso/setup/<uuid:connection_id>/{action}",
            sso_setup.sso_setup_switch,
            {"action": action},
            name=f"sso_setup_{action}",
        )
        for action in ("activate", "deactivate", "delete")
    ],
    path("sso/setup/<str:token>/", sso_setup.sso_setup_landing, name="sso_setup_landing"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        account.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password/",
        account.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("invite/accept/", invites.invite_accept_view, name="invite_accept"),
    path("invite/<str:token>/", invites.invite_landing, name="invite_landing"),
    path("organizations/switch/", account.organization_switch, name="organization_switch"),
    path("alerts/emails/", account.alert_emails, name="alert_emails"),
    path("settings/api-keys/", account.api_keys, name="api_keys"),
    path(
        "settings/api-keys/<uuid:token_id>/revoke/", account.api_key_revoke, name="api_key_revoke"
    ),
    path("settings/webhooks/", webhooks.webhooks, name="webhooks"),
    path("settings/webhooks/<uuid:endpoint_id>/", webhooks.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<uuid:endpoint_id>/edit", webhooks.webhook_edit, name="webhook_edit"),
    path(
        "settings/webhooks/<uuid:endpoint_id>/rotate",
        webhooks.webhook_rotate,
        name="webhook_rotate",
    ),
    path("settings/webhooks/<uuid:endpoint_id>/test", webhooks.webhook_test, name="webhook_test"),
    path(
        "settings/webhooks/<uuid:endpoint_id>/delete",
        webhooks.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "settings/webhooks/<uuid:endpoint_id>/deliveries/<int:delivery_id>/replay",
        webhooks.webhook_replay,
        name="webhook_replay",
    ),
    path(
        "settings/webhooks/<uuid:endpoint_id>/replay-since",
        webhooks.webhook_replay_since,
        name="webhook_replay_since",
    ),
]

console_patterns = [
    path("", console.customer_list, name="list"),
    path("new", console.create, name="create"),
    path("<uuid:customer_id>/", console.detail, name="detail"),
    path("<uuid:customer_id>/edit", console.edit, name="edit"),
    path("<uuid:customer_id>/suspend", console.suspend, name="suspend"),
    path("<uuid:customer_id>/reactivate", console.reactivate, name="reactivate"),
    path("<uuid:customer_id>/delete", console.delete, name="delete"),
    path("<uuid:customer_id>/restore", console.restore, name="restore"),
    path(
        "<uuid:customer_id>/revoke-connections",
        console.revoke_connections,
        name="revoke_connections",
    ),
    path("<uuid:customer_id>/replace-admin", console.replace_admin, name="replace_admin"),
    path("<uuid:customer_id>/domains/", domains.console_domains, name="domains"),
    path(
        "<uuid:customer_id>/domains/<uuid:domain_id>/check",
        domains.console_domain_check,
        name="domain_check",
    ),
    path(
        "<uuid:customer_id>/domains/<uuid:domain_id>/remove",
        domains.console_domain_remove,
        name="domain_remove",
    ),
    path("<uuid:customer_id>/sso/", sso.console_sso, name="sso"),
    path(
        "<uuid:customer_id>/sso/<uuid:connection_id>/",
        sso.console_sso_connection,
        name="sso_connection",
    ),
    path(
        "<uuid:customer_id>/sso/setup-links/",
        sso_setup.console_setup_link_send,
        name="sso_setup_link_send",
    ),
    path(
        "<uuid:customer_id>/sso/setup-links/<uuid:link_id>/revoke",
        sso_setup.console_setup_link_revoke,
        name="sso_setup_link_revoke",
    ),
    path(
        "<uuid:customer_id>/sso/<uuid:connection_id>/test",
        sso.console_sso_test,
        name="sso_test",
    ),
    *[
        path(
            f"<uuid:customer_id>/sso/<uuid:connection_id>/{action}",
            sso.console_sso_switch,
            {"action": action},
            name=f"sso_{action}",
        )
        for action in ("activate", "deactivate", "delete")
    ],
    path(
        "<uuid:customer_id>/connections/<uuid:connection_id>/revoke",
        console.connection_revoke,
        name="connection_revoke",
    ),
    path(
        "<uuid:customer_id>/invitations/<uuid:invitation_id>/resend",
        console.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "<uuid:customer_id>/invitations/<uuid:invitation_id>/revoke",
        console.invitation_revoke,
        name="invitation_revoke",
    ),
]

urlpatterns += [
    path("settings/customers/", include((console_patterns, "customers"))),
]

portal_patterns = [
    path("", portal.home, name="home"),
    path("settings/", portal.settings_view, name="settings"),
    path("users/", portal.users, name="users"),
    path("users/<uuid:seat_id>/role", portal.user_role, name="user_role"),
    path("users/<uuid:seat_id>/lock", portal.user_lock, name="user_lock"),
    path("users/<uuid:seat_id>/unlock", portal.user_unlock, name="user_unlock"),
    path("users/<uuid:seat_id>/remove", portal.user_remove, name="user_remove"),
    path("users/<uuid:seat_id>/break-glass", portal.user_break_glass, name="user_break_glass"),
    path(
        "invitations/<uuid:invitation_id>/resend",
        portal.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "invitations/<uuid:invitation_id>/revoke",
        portal.invitation_revoke,
        name="invitation_revoke",
    ),
    path("connections/", portal.connections, name="connections"),
    path(
        "connections/<uuid:connection_id>/revoke",
        portal.connection_revoke_view,
        name="connection_revoke",
    ),
    path("usage/", portal.usage, name="usage"),
    path("domains/", domains.portal_domains, name="domains"),
    path("domains/<uuid:domain_id>/check", domains.portal_domain_check, name="domain_check"),
    path("domains/<uuid:domain_id>/remove", domains.portal_domain_remove, name="domain_remove"),
    path("sso/", sso.portal_sso, name="sso"),
    path("sso/<uuid:connection_id>/", sso.portal_sso_connection, name="sso_connection"),
    path("sso/<uuid:connection_id>/test", sso.portal_sso_test, name="sso_test"),
    *[
        path(
            f"sso/<uuid:connection_id>/{action}",
            sso.portal_sso_switch,
            {"action": action},
            name=f"sso_{action}",
        )
        for action in ("activate", "deactivate", "delete")
    ],
    path("api-tokens/", portal.tokens, name="tokens"),
    path("api-tokens/<uuid:token_id>/revoke", portal.token_revoke, name="token_revoke"),
    path("two-factor/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", two_factor.two_factor_verify, name="two_factor_verify"),
]

urlpatterns += [
    path("portal/", include((portal_patterns, "portal"))),
]
