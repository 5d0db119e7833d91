"""The SSO setup pages: the portal's, where a customer's admins connect their own identity
provider, and the console's, where the organization's owners and admins do it for a
customer. Both list the connections, edit one, test it with a real round trip, and switch
it on or off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.identity.permissions import (
    organization_required,
    refuse_write,
    write_access_required,
)
from customers.identity.sso import flows, saml
from customers.identity.sso.forms import SsoConnectionForm
from customers.identity.sso.grants import actor_of
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SsoConnection, SsoSetupLink
from customers.identity.sso.saml_metadata import expiry_words
from customers.identity.sso.saml_services import missing
from customers.identity.sso.services import (
    sso_connection_activate,
    sso_connection_create,
    sso_connection_deactivate,
    sso_connection_delete,
    sso_connection_test_recorded,
    sso_connection_update,
)
from customers.identity.sso.sign_in import onward
from customers.platform.errors import SERVICE_ERRORS
from customers.platform.requests import AuthedRequest
from customers.platform.responses import (
    attempt,
    private_page,
    refusal_onto_form,
    secret_to_show,
)
from customers.portal.access import portal_page, render_portal
from customers.records.models import Customer

# A page's URL: (name, connection id or None) → path, for the portal's or the console's names.
Url = Callable[[str, UUID | None], str]


def _render(
    request: AuthedRequest, template: str, context: dict[str, Any], status: int
) -> HttpResponse:
    if template.startswith("portal/"):
        return render_portal(request, template, context, status=status)
    return render(request, template, context, status=status)


def _created(request: AuthedRequest, form: SsoConnectionForm, customer: Customer) -> Any:
    """The new connection, or None with the refusal on the form."""
    if not form.is_valid():
        return None
    try:
        connection = sso_connection_create(
            customer=customer, actor=actor_of(request), **form.settings()
        )
    except SERVICE_ERRORS as error:
        refusal_onto_form(form, error, field="name")
        return None
    messages.success(request, f"“{connection.name}” saved as a draft: test it, then activate it.")
    return connection


def _updated(request: AuthedRequest, form: SsoConnectionForm, connection: SsoConnection) -> bool:
    if not form.is_valid():
        return False
    try:
        after = sso_connection_update(
            connection=connection, actor=actor_of(request), changes=form.settings()
        )
    except SERVICE_ERRORS as error:
        refusal_onto_form(form, error, field="issuer")
        return False
    if connection.is_active and not after.is_active:
        messages.warning(
            request, f"Saved. “{after.name}” is a draft again until a new test passes."
        )
    else:
        messages.success(request, f"“{after.name}” saved.")
    return True


def _test_shown(request: AuthedRequest, connection: SsoConnection) -> dict[str, Any] | None:
    """The last test's decoded answer, once, on its connection's page."""
    shown = request.session.get(flows.TEST_SHOWN)
    if shown and shown.get("connection") == str(connection.pk):
        del request.session[flows.TEST_SHOWN]
        return dict(shown)
    return None


def list_page(
    request: AuthedRequest,
    customer: Customer,
    url: Url,
    template: str,
    can_change: bool,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    form = SsoConnectionForm(request.POST or None)
    if request.method == "POST" and can_change:
        connection = _created(request, form, customer)
        if connection is not None:
            return redirect(url("sso_connection", connection.pk))
    connections = list(SsoConnection.objects.for_customer(customer))
    context = {
        "customer": customer,
        "form": form,
        "rows": [(c, url("sso_connection", c.pk)) for c in connections],
        "can_change": can_change,
        **(extra or {}),
    }
    return _render(request, template, context, 422 if form.errors else 200)


def detail_page(
    request: AuthedRequest,
    connection: SsoConnection,
    url: Url,
    template: str,
    can_change: bool,
) -> HttpResponse:
    form = SsoConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and can_change and _updated(request, form, connection):
        return redirect(url("sso_connection", connection.pk))
    context = {
        "customer": connection.customer,
        "connection": connection,
        "form": form,
        "redirect_uri": flows.redirect_uri(connection),
        "saml": _saml_side(connection),
        "certificate_expiry": expiry_words(connection.certificate_expires_at),
        "can_change": can_change,
        "test": _test_shown(request, connection),
        "actions": {
            name: url(f"sso_{name}", connection.pk)
            for name in ("test", "activate", "deactivate", "delete")
        },
        "back": url("sso", None),
    }
    return _render(request, template, context, 422 if form.errors else 200)


def _saml_side(connection: SsoConnection) -> dict[str, str] | None:
    """Tenantry's SAML settings for the IdP: the entity id is the metadata's URL."""
    if not connection.is_saml:
        return None
    entity_id = saml.entity_id(connection)
    return {"entity_id": entity_id, "acs_url": saml.acs_url(connection), "metadata_url": entity_id}


def test_start(request: AuthedRequest, connection: SsoConnection, back: str) -> HttpResponse:
    """Begin a test round trip: the admin signs in at the provider, and the callback records
    what each check found."""
    if gaps := missing(connection):
        messages.error(request, f"Add {', '.join(gaps)} first: the test signs in through them.")
        return redirect(back)
    link = actor_of(request)
    by_link = str(link.pk) if isinstance(link, SsoSetupLink) else ""
    try:
        url = flows.begin(request, connection, mode=flows.TEST, then=back, by_link=by_link)
    except SsoCheckFailed as failure:
        result = f"Failed at “{failure.check}”: {failure}"
        _failed_before_provider(request, connection, result)
        return redirect(back)
    return onward(request, url, connection.name)


def _failed_before_provider(request: AuthedRequest, connection: SsoConnection, result: str) -> None:
    """A test that failed before reaching the provider (discovery): recorded and shown."""
    sso_connection_test_recorded(
        connection=connection, actor=actor_of(request), passed=False, result=result
    )
    messages.error(request, result)


def switch(request: AuthedRequest, connection: SsoConnection, action: str) -> None:
    if action == "activate":
        attempt(
            request,
            f"“{connection.name}” is active: people at your verified domains sign in through it.",
            sso_connection_activate,
            connection=connection,
            actor=actor_of(request),
        )
    elif action == "deactivate":
        attempt(
            request,
            f"“{connection.name}” is inactive: it signs nobody in.",
            sso_connection_deactivate,
            connection=connection,
            actor=actor_of(request),
        )
    else:
        attempt(
            request,
            f"“{connection.name}” removed.",
            sso_connection_delete,
            connection=connection,
            actor=actor_of(request),
        )


# --- the portal -------------------------------------------------------------------------------


def _portal_url(name: str, connection_id: UUID | None) -> str:
    return reverse(f"portal:{name}", args=[connection_id] if connection_id else [])


def _portal_connection(request: AuthedRequest, connection_id: UUID) -> SsoConnection:
    connection: SsoConnection = get_object_or_404(
        SsoConnection.objects.for_customer(request.customer).select_related(
            "customer__organization"
        ),
        pk=connection_id,
    )
    return connection


@portal_page(admin_only=True, read_admin_only=True)
def portal_sso(request: AuthedRequest) -> HttpResponse:
    return list_page(request, request.customer, _portal_url, "portal/sso.html", True)


@portal_page(admin_only=True, read_admin_only=True)
def portal_sso_connection(request: AuthedRequest, connection_id: UUID) -> HttpResponse:
    connection = _portal_connection(request, connection_id)
    return detail_page(request, connection, _portal_url, "portal/sso_connection.html", True)


@require_POST
@portal_page(admin_only=True, read_admin_only=True)
def portal_sso_test(request: AuthedRequest, connection_id: UUID) -> HttpResponse:
    connection = _portal_connection(request, connection_id)
    return test_start(request, connection, _portal_url("sso_connection", connection.pk))


@require_POST
@portal_page(admin_only=True, read_admin_only=True)
def portal_sso_switch(request: AuthedRequest, connection_id: UUID, action: str) -> HttpResponse:
    connection = _portal_connection(request, connection_id)
    switch(request, connection, action)
    if action == "delete":
        return redirect("portal:sso")
    return redirect("portal:sso_connection", connection.pk)


# --- the console ------------------------------------------------------------------------------


def console_customer(request: AuthedRequest, customer_id: UUID) -> Customer:
    customer: Customer = get_object_or_404(
        Customer.objects.for_organization(request.organization).select_related("organization"),
        pk=customer_id,
    )
    return customer


def _console_url(customer: Customer) -> Url:
    def url(name: str, connection_id: UUID | None) -> str:
        args = [customer.pk, connection_id] if connection_id else [customer.pk]
        return reverse(f"customers:{name}", args=args)

    return url


def _console_connection(
    request: AuthedRequest, customer_id: UUID, connection_id: UUID
) -> SsoConnection:
    customer = console_customer(request, customer_id)
    connection: SsoConnection = get_object_or_404(
        SsoConnection.objects.for_customer(customer).select_related("customer__organization"),
        pk=connection_id,
    )
    return connection


@organization_required
def console_sso(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = console_customer(request, customer_id)
    if request.method == "POST" and not request.membership.can_write:
        refuse_write(request)
    can_change = request.membership.can_write and not customer.is_deleted
    shown = secret_to_show(request) if request.method == "GET" else None
    # Every link that still opens something, and the last month's others.
    links = (
        SsoSetupLink.objects.for_customer(customer)
        .filter(
            Q(revoked_at__isnull=True, expires_at__gt=timezone.now())
            | Q(created_at__gt=timezone.now() - timedelta(days=30))
        )
        .select_related("created_by")[:100]
    )
    extra = {"new_link": shown, "links": links}
    page = list_page(
        request, customer, _console_url(customer), "customers/sso.html", can_change, extra
    )
    return private_page(page, shown)


@organization_required
def console_sso_connection(
    request: AuthedRequest, customer_id: UUID, connection_id: UUID
) -> HttpResponse:
    connection = _console_connection(request, customer_id, connection_id)
    if request.method == "POST" and not request.membership.can_write:
        refuse_write(request)
    url = _console_url(connection.customer)
    can_change = request.membership.can_write and not connection.customer.is_deleted
    return detail_page(request, connection, url, "customers/sso_connection.html", can_change)


@require_POST
@write_access_required
def console_sso_test(request: AuthedRequest, customer_id: UUID, connection_id: UUID) -> Any:
    connection = _console_connection(request, customer_id, connection_id)
    return test_start(
        request, connection, _console_url(connection.customer)("sso_connection", connection.pk)
    )


@require_POST
@write_access_required
def console_sso_switch(
    request: AuthedRequest, customer_id: UUID, connection_id: UUID, action: str
) -> Any:
    connection = _console_connection(request, customer_id, connection_id)
    switch(request, connection, action)
    if action == "delete":
        return redirect("customers:sso", customer_id)
    return redirect("customers:sso_connection", customer_id, connection.pk)
