"""The complete trail: every mutating URL and API operation writes an audit entry.

Every named URL must be classified below. A new URL that is neither read-only nor given a
scenario here fails ``test_every_url_is_classified``; a scenario whose request writes no entry
fails ``test_each_mutation_is_audited``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry, LogStream
from config.api import api
from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.services import (
    sso_connection_activate,
    sso_connection_create,
    sso_connection_test_recorded,
)
from customers.identity.sso.setup_links import setup_link_create
from customers.models import WebhookDelivery
from customers.services import (
    api_token_create,
    customer_update,
    endpoint_create,
    invite_accept,
    invite_send,
)
from tests.factories import PASSWORD, UserFactory, make_connection, make_customer, make_seat

pytestmark = pytest.mark.django_db

READ_ONLY = {
    "home",
    "customers:list",
    "customers:detail",
    "billing:customer_limits",
    "activity:executions",
    "activity:execution_detail",
    "activity:events",
    "activity:audit_log",
    "activity:portal_audit_log",
    "activity:portal_audit_entry",
    "activity:customer_lookup",
    "portal:home",
    "portal:connections",
    "portal:usage",
    "webhook_detail",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    "sso_saml_metadata",
}
# Session state only, no record changes: nothing to audit.
SESSION_ONLY = {
    "organization_switch": "chooses which organization this session shows",
    "invite_landing": "moves the invitation token from the URL into the session",
    "sso_start": "begins a sign-in at the provider; the callback records how it ended",
    "customers:sso_test": "begins a test at the provider; the callback records its result",
    "sso_setup_test": "begins a test at the provider; the callback records its result",
    "portal:sso_test": "begins a test at the provider; the callback records its result",
}
# Audited, and proved so by a test with a real identity provider (it cannot run here).
AUDITED_ELSEWHERE = {
    "sso_oidc_callback": (
        "tests/portal/test_portal_sso.py: sso.signed_in, sso.refused, sso_connection.tested "
        "and customer_user.provisioned, against oidc-provider"
    ),
    "sso_saml_continue": (
        "tests/portal/test_portal_saml.py: an IdP-initiated sign-in's Continue, recorded as "
        "sso.signed_in"
    ),
    "sso_saml_acs": (
        "tests/portal/test_portal_saml.py: sso.signed_in, sso.refused (replays, unsolicited) "
        "and sso_connection.tested, against pysaml2's IdP"
    ),
}
# Data-plane ingestion: the stored events and executions are the record; refusals are audited.
API_EXEMPT = {
    "events_create": "ingestion (refusals are audited as events.refused)",
    "executions_create": "ingestion (refusals are audited as executions.refused)",
    "connections_activity": (
        "ingestion (each health change is audited as connection.health_changed, refusals as "
        "connection.activity_reported)"
    ),
}


def url_names() -> set[str]:
    def walk(patterns, namespace=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if pattern.namespace in ("admin", "api"):
                    continue
                prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix)
            elif pattern.name:
                yield namespace + pattern.name

    return set(walk(get_resolver().url_patterns))


def api_mutations() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        operation["operationId"].rsplit("_api_", 1)[-1]
        for path in schema["paths"].values()
        for method, operation in path.items()
        if method in ("post", "put", "patch", "delete")
    }


@pytest.fixture
def world(org, owner, settings, django_capture_on_commit_callbacks, dns_zone):
    from customers.identity.domains.services import domain_add

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/hooks", actor=owner)
    customer = make_customer(org, actor=owner, name="World", admin_email="admin@world.test")
    admin = UserFactory(email="admin@world.test")
    seat = invite_accept(invitation=customer.admin_invitation, actor=admin)
    member = make_seat(customer, role="engineer")
    connection = make_connection(customer)
    pending = invite_send(customer=customer, email="new@world.test", role="user", actor=owner)
    token, secret = api_token_create(organization=org, name="k", actor=owner)
    customer_token, _ = api_token_create(
        organization=org, customer=customer, name="ct", actor=admin
    )
    domain = domain_add(customer=customer, domain="world.example", actor=owner)
    dns_zone.publish(domain.record_name, domain.record_value)  # so a check verifies it
    sso = sso_connection_create(
        customer=customer, actor=owner, name="World IdP", issuer="https://i.example", client_id="c"
    )
    sso_connection_test_recorded(connection=sso, actor=owner, passed=True, result="ok")
    VerifiedDomain.objects.create(
        organization=org, customer=customer, domain="world.test", token="t", status="verified"
    )
    link, link_token = setup_link_create(customer=customer, email="it@world.test", actor=owner)
    console, portal = Client(), Client()
    console.force_login(owner)
    portal.force_login(admin)
    customer.refresh_from_db()
    return SimpleNamespace(
        endpoint=endpoint,
        delivery=WebhookDelivery.objects.unscoped().filter(endpoint=endpoint).first(),
        org=org,
        owner=owner,
        customer=customer,
        admin=admin,
        seat=seat,
        member=member,
        connection=connection,
        pending=pending,
        token=token,
        secret=secret,
        customer_token=customer_token,
        domain=domain,
        sso=sso,
        link=link,
        link_token=link_token,
        console=console,
        portal=portal,
    )


def _edit_data(form_class, instance, **changes):
    form = form_class(instance=instance)
    data = {"version": instance.version}
    for name in form.editable_fields:
        value = form[name].value()
        data[f"initial-{name}"] = "" if value is None else str(value)
        if not isinstance(value, bool):
            data[name] = "" if value is None else str(value)
        elif value:
            data[name] = "on"
    return {**data, **changes}


def _password_reset_confirm(w):
    client = Client()
    uid = urlsafe_base64_encode(force_bytes(w.owner.pk))
    token = default_token_generator.make_token(w.owner)
    page = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "another-long-passphrase", "new_password2": "another-long-passphrase"},
    )


def _two_factor_setup(w):
    customer_update(
        customer=w.customer, actor=None, expected_version=None, changes={"force_2fa": True}
    )
    client = Client()
    client.post(reverse("login"), {"username": w.admin.email, "password": PASSWORD})
    client.get(reverse("portal:two_factor_setup"))
    device = TOTPDevice.objects.get(user=w.admin)
    client.post(reverse("portal:two_factor_setup"), {"code": f"{totp(device.bin_key):06d}"})


def _two_factor_verify(w):
    device = TOTPDevice.objects.create(user=w.admin, name="phone", confirmed=True)
    customer_update(
        customer=w.customer, actor=None, expected_version=None, changes={"force_2fa": True}
    )
    client = Client()
    client.post(reverse("login"), {"username": w.admin.email, "password": PASSWORD})
    client.post(reverse("portal:two_factor_verify"), {"code": f"{totp(device.bin_key):06d}"})


def _invite_accept(w):
    import re

    from django.core import mail
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        invite_send(customer=w.customer, email="third@world.test", role="user", actor=w.owner)
    client = Client()
    token = re.search(r"/invite/([^/]+)/", mail.outbox[-1].body).group(1)
    client.get(reverse("invite_landing", args=[token]))
    client.post(
        reverse("invite_accept"),
        {"name": "Third", "password1": "long-passphrase-3", "password2": "long-passphrase-3"},
    )


def _customer_edit(w):
    from customers.records.forms import CustomerEditForm

    w.console.post(
        reverse("customers:edit", args=[w.customer.pk]),
        _edit_data(CustomerEditForm, w.customer, billing_ref="PO-1"),
    )


def _portal_settings(w):
    from customers.records.forms import PortalCustomerForm

    w.portal.post(
        reverse("portal:settings"),
        _edit_data(PortalCustomerForm, w.customer, phone_number="+1 555"),
    )


def _delete(w):
    return _customers("delete", {"confirm_slug": w.customer.slug})(w)


def _customers(name, data=None):
    return lambda w: w.console.post(reverse(f"customers:{name}", args=[w.customer.pk]), data)


def _stream_add(w) -> LogStream:
    w.console.post(
        reverse("activity:stream_add"), {"kind": "file", "name": "F", "file_name": "a.jsonl"}
    )
    return LogStream.objects.for_organization(w.org).latest("created_at")


def _setup_scenario(name):
    """What a setup link's holder does: open it (landing), then work on the customer's SSO."""

    def run(w):
        holder = Client()
        opened = holder.post(reverse("sso_setup_landing", args=[w.link_token]))
        if name == "sso_setup_landing":
            return opened
        if name == "sso_setup":
            return holder.post(reverse("sso_setup"), _sso_form(name="From the link"))
        if name == "sso_setup_deactivate":
            sso_connection_activate(connection=w.sso, actor=w.owner)
        data = _sso_form(name="Renamed") if name == "sso_setup_connection" else {}
        return holder.post(reverse(name, args=[w.sso.pk]), data)

    return run


def _sso_form(**changes):
    return {
        "name": "World IdP",
        "issuer": "https://i.example",
        "client_id": "c",
        "email_claim": "email",
        "first_name_claim": "given_name",
        "last_name_claim": "family_name",
        "groups_claim": "groups",
        "default_role": "user",
        **changes,
    }


def _sso_scenario(side, name):
    """Post one SSO page of the console (customers:) or the portal, as its owner or admin."""

    def run(w):
        client = w.console if side == "customers" else w.portal
        ids = [w.customer.pk] if side == "customers" else []
        if name == "sso":
            return client.post(reverse(f"{side}:sso", args=ids), _sso_form(name="Second"))
        if name == "sso_deactivate":
            sso_connection_activate(connection=w.sso, actor=w.owner)
        data = _sso_form(name="Renamed") if name == "sso_connection" else {}
        return client.post(reverse(f"{side}:{name}", args=[*ids, w.sso.pk]), data)

    return run


MUTATIONS: dict[str, Callable] = {
    "login": lambda w: Client().post(
        reverse("login"), {"username": w.owner.email, "password": PASSWORD}
    ),
    "logout": lambda w: w.console.post(reverse("logout")),
    "password_reset": lambda w: Client().post(reverse("password_reset"), {"email": w.owner.email}),
    "password_reset_confirm": _password_reset_confirm,
    "password_change": lambda w: w.console.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "brand-new-passphrase",
            "new_password2": "brand-new-passphrase",
        },
    ),
    "api_keys": lambda w: w.console.post(reverse("api_keys"), {"name": "new"}),
    "api_key_revoke": lambda w: w.console.post(reverse("api_key_revoke", args=[w.token.pk])),
    "invite_accept": _invite_accept,
    "customers:create": lambda w: w.console.post(
        reverse("customers:create"), {"name": "Fresh", "plan": str(w.customer.plan_id)}
    ),
    "customers:edit": _customer_edit,
    "customers:suspend": _customers("suspend"),
    "customers:reactivate": lambda w: (_customers("suspend")(w), _customers("reactivate")(w)),
    "customers:delete": _delete,
    "customers:restore": lambda w: (
        _delete(w),
        _customers("restore")(w),
    ),
    "customers:revoke_connections": _customers("revoke_connections"),
    "customers:replace_admin": _customers("replace_admin", {"email": "boss@world.test"}),
    "customers:connection_revoke": lambda w: w.console.post(
        reverse("customers:connection_revoke", args=[w.customer.pk, w.connection.pk])
    ),
    "customers:invitation_resend": lambda w: w.console.post(
        reverse("customers:invitation_resend", args=[w.customer.pk, w.pending.pk])
    ),
    "customers:invitation_revoke": lambda w: w.console.post(
        reverse("customers:invitation_revoke", args=[w.customer.pk, w.pending.pk])
    ),
    "billing:overview": lambda w: w.console.post(
        reverse("billing:overview"), {"form": "cap", "dimension": "events_per_day", "value": "100"}
    ),
    "billing:limit_cell": lambda w: w.console.post(
        reverse("billing:limit_cell", args=[w.customer.pk, "seats"]),
        {"action": "set", "value": "9", "reason": "test"},
    ),
    "activity:audit_log_export": lambda w: b"".join(
        w.console.get(reverse("activity:audit_log_export")).streaming_content
    ),
    "activity:portal_audit_log_export": lambda w: b"".join(
        w.portal.get(reverse("activity:portal_audit_log_export")).streaming_content
    ),
    "activity:audit_settings": lambda w: w.console.post(
        reverse("activity:audit_settings"), {"retention_days": "90"}
    ),
    "activity:stream_add": lambda w: _stream_add(w),
    "activity:stream_action": lambda w: w.console.post(
        reverse("activity:stream_action", args=[_stream_add(w).pk, "disable"])
    ),
    "portal:settings": _portal_settings,
    "portal:users": lambda w: w.portal.post(
        reverse("portal:users"), {"email": "mate@world.test", "role": "user"}
    ),
    "portal:user_role": lambda w: w.portal.post(
        reverse("portal:user_role", args=[w.member.pk]), {"role": "user"}
    ),
    "portal:user_lock": lambda w: w.portal.post(reverse("portal:user_lock", args=[w.member.pk])),
    "portal:user_unlock": lambda w: (
        w.portal.post(reverse("portal:user_lock", args=[w.member.pk])),
        w.portal.post(reverse("portal:user_unlock", args=[w.member.pk])),
    ),
    "portal:user_remove": lambda w: w.portal.post(
        reverse("portal:user_remove", args=[w.member.pk])
    ),
    "portal:invitation_resend": lambda w: w.portal.post(
        reverse("portal:invitation_resend", args=[w.pending.pk])
    ),
    "portal:invitation_revoke": lambda w: w.portal.post(
        reverse("portal:invitation_revoke", args=[w.pending.pk])
    ),
    "portal:connection_revoke": lambda w: w.portal.post(
        reverse("portal:connection_revoke", args=[w.connection.pk])
    ),
    "portal:tokens": lambda w: w.portal.post(reverse("portal:tokens"), {"name": "ci"}),
    "portal:token_revoke": lambda w: w.portal.post(
        reverse("portal:token_revoke", args=[w.customer_token.pk])
    ),
    "webhooks": lambda w: w.console.post(reverse("webhooks"), {"url": "http://127.0.0.1:9/b"}),
    "webhook_edit": lambda w: w.console.post(
        reverse("webhook_edit", args=[w.endpoint.pk]),
        {"url": w.endpoint.url, "description": "CRM", "enabled": "on"},
    ),
    "webhook_rotate": lambda w: w.console.post(reverse("webhook_rotate", args=[w.endpoint.pk])),
    "alert_emails": lambda w: w.console.post(
        reverse("alert_emails"), {"usage_alert_emails": "off"}
    ),
    "billing:alert_thresholds": lambda w: w.console.post(
        reverse("billing:alert_thresholds"),
        {
            "events_per_day_mode": "custom",
            "events_per_day_percents": "50, 90",
            "executions_per_month_mode": "inherit",
        },
    ),
    "webhook_test": lambda w: w.console.post(reverse("webhook_test", args=[w.endpoint.pk])),
    "webhook_delete": lambda w: w.console.post(reverse("webhook_delete", args=[w.endpoint.pk])),
    "webhook_replay": lambda w: w.console.post(
        reverse("webhook_replay", args=[w.endpoint.pk, w.delivery.pk])
    ),
    "webhook_replay_since": lambda w: w.console.post(
        reverse("webhook_replay_since", args=[w.endpoint.pk]), {"since": "2000-01-01T00:00"}
    ),
    "portal:two_factor_setup": _two_factor_setup,
    "portal:two_factor_verify": _two_factor_verify,
    "customers:domains": lambda w: w.console.post(
        reverse("customers:domains", args=[w.customer.pk]), {"domain": "more.example"}
    ),
    "customers:domain_check": lambda w: w.console.post(
        reverse("customers:domain_check", args=[w.customer.pk, w.domain.pk])
    ),
    "customers:domain_remove": lambda w: w.console.post(
        reverse("customers:domain_remove", args=[w.customer.pk, w.domain.pk])
    ),
    "portal:domains": lambda w: w.portal.post(reverse("portal:domains"), {"domain": "m.example"}),
    "portal:domain_check": lambda w: w.portal.post(
        reverse("portal:domain_check", args=[w.domain.pk])
    ),
    "portal:domain_remove": lambda w: w.portal.post(
        reverse("portal:domain_remove", args=[w.domain.pk])
    ),
    "customers:sso_setup_link_send": lambda w: w.console.post(
        reverse("customers:sso_setup_link_send", args=[w.customer.pk]), {"email": "b@world.test"}
    ),
    "customers:sso_setup_link_revoke": lambda w: w.console.post(
        reverse("customers:sso_setup_link_revoke", args=[w.customer.pk, w.link.pk])
    ),
    **{
        f"{name}": _setup_scenario(name)
        for name in (
            "sso_setup",
            "sso_setup_connection",
            "sso_setup_activate",
            "sso_setup_deactivate",
            "sso_setup_delete",
            "sso_setup_landing",
        )
    },
    "portal:user_break_glass": lambda w: w.portal.post(
        reverse("portal:user_break_glass", args=[w.seat.pk]), {"on": "1"}
    ),
    **{
        f"{side}:{name}": _sso_scenario(side, name)
        for side in ("customers", "portal")
        for name in ("sso", "sso_connection", "sso_activate", "sso_deactivate", "sso_delete")
    },
}


def _api(method, path, body=None):
    def call(w):
        client = Client()
        kwargs = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {w.secret}"}
        data = json.dumps(body) if body is not None else None
        url = "/api/v1" + path.format(c=w.customer.pk, i=w.pending.pk, n=w.connection.pk)
        return getattr(client, method)(url, data, **kwargs)

    return call


API_MUTATIONS: dict[str, Callable] = {
    "customer_put": _api("put", "/customer/{c}", {"billing_ref": "API"}),
    "customer_delete_api": _api("delete", "/customer/{c}"),
    "customer_suspend_api": _api("post", "/customer/{c}/suspend"),
    "customer_reactivate_api": lambda w: (
        _api("post", "/customer/{c}/suspend")(w),
        _api("post", "/customer/{c}/reactivate")(w),
    ),
    "customer_restore_api": lambda w: (
        _api("delete", "/customer/{c}")(w),
        _api("post", "/customer/{c}/restore")(w),
    ),
    "customers_create": _api("post", "/customers", {"name": "Via API"}),
    "invitations_create": _api("post", "/customer/{c}/invitations", {"email": "x@world.test"}),
    "invitations_resend": _api("post", "/customer/{c}/invitations/{i}/resend"),
    "invitations_revoke": _api("post", "/customer/{c}/invitations/{i}/revoke"),
    "limits_set": _api("put", "/customer/{c}/limits/seats", {"value": 7, "reason": "api"}),
    "limits_clear": lambda w: (
        _api("put", "/customer/{c}/limits/seats", {"value": 7, "reason": "api"})(w),
        _api("delete", "/customer/{c}/limits/seats")(w),
    ),
    "connections_create": lambda w: (
        _api("post", "/customer/{c}/connections/{n}/revoke")(w),  # make room under the limit
        _api("post", "/customer/{c}/connections", {"app": "Slack", "account_label": "ws"})(w),
    ),
    "connections_revoke": _api("post", "/customer/{c}/connections/{n}/revoke"),
    "connections_status": _api(
        "post", "/customer/{c}/connections/{n}/status", {"status": "expired"}
    ),
    "alert_thresholds_put": _api(
        "put", "/customer/{c}/alert-thresholds", {"thresholds": {"events_per_day": [50]}}
    ),
    "endpoints_create": _api("post", "/webhook-endpoints", {"url": "http://127.0.0.1:9/c"}),
    "endpoints_update": lambda w: _api(
        "patch", f"/webhook-endpoints/{w.endpoint.pk}", {"description": "API"}
    )(w),
    "endpoints_delete": lambda w: _api("delete", f"/webhook-endpoints/{w.endpoint.pk}")(w),
    "domains_add": _api("post", "/customer/{c}/domains", {"domain": "api.example"}),
    "domains_verify": lambda w: _api("post", f"/customer/{{c}}/domains/{w.domain.pk}/verify")(w),
    "domains_remove": lambda w: _api("delete", f"/customer/{{c}}/domains/{w.domain.pk}")(w),
    "sso_connections_create": _api(
        "post",
        "/customer/{c}/sso-connections",
        {"name": "API IdP", "issuer": "https://api.example", "client_id": "c"},
    ),
    "sso_connections_update": lambda w: _api(
        "patch", f"/customer/{{c}}/sso-connections/{w.sso.pk}", {"name": "Renamed"}
    )(w),
    "sso_connections_activate": lambda w: _api(
        "post", f"/customer/{{c}}/sso-connections/{w.sso.pk}/activate"
    )(w),
    "sso_connections_deactivate": lambda w: (
        _api("post", f"/customer/{{c}}/sso-connections/{w.sso.pk}/activate")(w),
        _api("post", f"/customer/{{c}}/sso-connections/{w.sso.pk}/deactivate")(w),
    ),
    "sso_connections_delete": lambda w: _api(
        "delete", f"/customer/{{c}}/sso-connections/{w.sso.pk}"
    )(w),
}


def test_every_url_is_classified():
    classified = READ_ONLY | set(SESSION_ONLY) | set(AUDITED_ELSEWHERE) | set(MUTATIONS)
    assert url_names() == classified


def test_every_api_operation_is_classified():
    assert api_mutations() == set(API_MUTATIONS) | set(API_EXEMPT)


def _last_id() -> int:
    return AuditEntry.objects.unscoped().order_by("-id").values_list("id", flat=True).first()


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_is_audited(world, name, django_capture_on_commit_callbacks):
    before = _last_id()
    with django_capture_on_commit_callbacks(execute=True):
        MUTATIONS[name](world)
    new = AuditEntry.objects.unscoped().filter(id__gt=before)
    assert new.exists(), f"{name} wrote no audit entry"
    # The scenario really did the thing (a refusal would be audited too, as a failure).
    assert new.filter(outcome="success").exists(), list(new.values_list("action", "message"))


@pytest.mark.parametrize("name", sorted(API_MUTATIONS))
def test_each_api_mutation_is_audited_with_the_token_as_actor(world, name):
    before = AuditEntry.objects.for_organization(world.org).count()
    API_MUTATIONS[name](world)
    new = AuditEntry.objects.for_organization(world.org).order_by("-id")[
        : AuditEntry.objects.for_organization(world.org).count() - before
    ]
    assert new, f"{name} wrote no audit entry"
    assert {entry.actor_type for entry in new} == {"token"}
