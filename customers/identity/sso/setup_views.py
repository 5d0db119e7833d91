"""The SSO setup a link opens for a customer's IT contact (no account needed): the landing
that trades the link's secret for an hour in this browser, then the same connection pages as
the portal's, for that one customer only; and the console's form that sends a link."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from customers.identity.permissions import write_access_required
from customers.identity.sso.grants import ACTING_LINK, SETUP_GRANT, setup_link_of
from customers.identity.sso.models import SsoConnection, SsoSetupLink
from customers.identity.sso.setup_links import (
    SESSION_LASTS,
    SetupLinkUnusable,
    activation_announced,
    setup_link_create,
    setup_link_open,
    setup_link_revoke,
    setup_url,
)
from customers.identity.sso.views import (
    console_customer,
    detail_page,
    list_page,
    switch,
    test_start,
)
from customers.platform.errors import SERVICE_ERRORS, refusal_text
from customers.platform.requests import AuthedRequest
from customers.platform.responses import attempt, show_secret_once

GONE = (
    "This setup session has ended (an hour after the link was opened). Ask the organization "
    "that sent you the link for a new one."
)


@never_cache
def sso_setup_landing(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; its POST opens the link once, keeps the grant in this browser's
    session and drops the secret from the URL (as the invitation link does). Mail scanners
    that fetch every link (GET, HEAD) so use up nothing."""
    if request.method != "POST":
        page = render(request, "registration/sso_setup_open.html", {"token": token})
        # The token's URL is sent to Tenantry alone (the POST's Referer), never elsewhere.
        page["Referrer-Policy"] = "same-origin"
        return page
    try:
        link = setup_link_open(token=token)
    except SetupLinkUnusable as refusal:
        page = render(request, "registration/sso_refused.html", {"reason": str(refusal)})
        page.status_code = 410
        page["Referrer-Policy"] = "no-referrer"
        return page
    request.session.cycle_key()  # a session planted before the link was opened gains nothing
    request.session[SETUP_GRANT] = {
        "link": str(link.pk),
        "until": (timezone.now() + SESSION_LASTS).isoformat(),
    }
    response = redirect("sso_setup")
    response["Referrer-Policy"] = "no-referrer"
    return response


def _setup_url(name: str, connection_id: UUID | None) -> str:
    target = "sso_setup" if name == "sso" else name.replace("sso_", "sso_setup_", 1)
    return reverse(target, args=[connection_id] if connection_id else [])


def _granted(request: HttpRequest) -> SsoSetupLink | HttpResponse:
    link = setup_link_of(request)
    if link is None:
        return render(request, "registration/sso_refused.html", {"reason": GONE}, status=403)
    request.__dict__[ACTING_LINK] = link  # what these pages change, the link's holder changes
    return link


def _setup_connection(link: SsoSetupLink, connection_id: UUID) -> SsoConnection:
    connection: SsoConnection = get_object_or_404(
        SsoConnection.objects.for_customer(link.customer).select_related("customer__organization"),
        pk=connection_id,
    )
    return connection


def _until(request: HttpRequest) -> datetime:
    return datetime.fromisoformat(request.session[SETUP_GRANT]["until"])


@never_cache
def sso_setup(request: AuthedRequest) -> HttpResponse:
    link = _granted(request)
    if isinstance(link, HttpResponse):
        return link
    request.sso_setup_until = _until(request)  # type: ignore[attr-defined]  # shown on the page
    return list_page(request, link.customer, _setup_url, "sso_setup/list.html", True)


@never_cache
def sso_setup_connection(request: AuthedRequest, connection_id: UUID) -> HttpResponse:
    link = _granted(request)
    if isinstance(link, HttpResponse):
        return link
    connection = _setup_connection(link, connection_id)
    return detail_page(request, connection, _setup_url, "sso_setup/detail.html", True)


@require_POST
def sso_setup_test(request: AuthedRequest, connection_id: UUID) -> HttpResponse:
    link = _granted(request)
    if isinstance(link, HttpResponse):
        return link
    connection = _setup_connection(link, connection_id)
    return test_start(request, connection, _setup_url("sso_connection", connection.pk))


@require_POST
def sso_setup_switch(request: AuthedRequest, connection_id: UUID, action: str) -> HttpResponse:
    link = _granted(request)
    if isinstance(link, HttpResponse):
        return link
    connection = _setup_connection(link, connection_id)
    was_active = connection.is_active
    switch(request, connection, action)
    if action == "activate" and not was_active:
        connection.refresh_from_db()
        if connection.is_active:
            activation_announced(link=link, connection_name=connection.name)
    if action == "delete":
        return redirect("sso_setup")
    return redirect("sso_setup_connection", connection.pk)


# --- the console: sending a link --------------------------------------------------------------


@require_POST
@write_access_required
def console_setup_link_send(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = console_customer(request, customer_id)
    try:
        link, token = setup_link_create(
            customer=customer, email=request.POST.get("email", ""), actor=request.user
        )
    except SERVICE_ERRORS as error:
        messages.error(request, refusal_text(error))
        return redirect("customers:sso", customer.pk)
    messages.success(
        request,
        f"Setup link for {link.email}: copy it below; it is on its way by email too. It opens "
        "once, within seven days.",
    )
    return show_secret_once(request, setup_url(token), reverse("customers:sso", args=[customer.pk]))


@require_POST
@write_access_required
def console_setup_link_revoke(
    request: AuthedRequest, customer_id: UUID, link_id: UUID
) -> HttpResponse:
    customer = console_customer(request, customer_id)
    link = get_object_or_404(
        SsoSetupLink.objects.for_customer(customer).select_related("customer__organization"),
        pk=link_id,
    )
    attempt(
        request,
        f"The link sent to {link.email} no longer works.",
        setup_link_revoke,
        link=link,
        actor=request.user,
    )
    return redirect("customers:sso", customer.pk)
