"""SAML's two public URLs per connection: its SP metadata (for the IdP to read) and its
Assertion Consumer Service, where the IdP posts the response that finishes a sign-in or a
connection test, or (when the connection allows it) starts an IdP-initiated sign-in."""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from customers.identity.sso import flows, saml
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.provisioning import SignInRefused, email_of
from customers.identity.sso.saml_services import saml_assertion_accepted
from customers.identity.sso.sign_in import (
    GONE,
    MIXED_UP,
    finish_test,
    outcome_of_test,
    refusal_page,
    refused,
    signed_in,
)

RESUBMITTED = "resubmitted"
# An IdP-initiated sign-in waiting for its "Continue", for so long.
UNASKED = "sso_saml_unasked"
UNASKED_SECONDS = 300
logger = logging.getLogger(__name__)


def email_or_blank(connection: SsoConnection, claims: dict[str, Any]) -> str:
    try:
        return email_of(connection, claims)
    except SignInRefused:
        return ""


def _connection(connection_id: UUID) -> SsoConnection:
    connection: SsoConnection = get_object_or_404(
        SsoConnection.objects.for_sign_in().select_related("customer__organization"),
        pk=connection_id,
        protocol=SsoConnection.Protocol.SAML,
    )
    return connection


@require_GET
def sso_saml_metadata(request: HttpRequest, connection_id: UUID) -> HttpResponse:
    """Tenantry's SP metadata for this connection: public, as the IdP fetches it."""
    connection = _connection(connection_id)
    return HttpResponse(saml.sp_metadata(connection), content_type="application/samlmetadata+xml")


def _resubmit(request: HttpRequest, encoded: str) -> HttpResponse:
    """The IdP's cross-site POST carries no session cookie (it is SameSite=Lax), so the
    browser's sign-in cannot be found. Posting the response once more from Tenantry's own
    page makes it a same-site request, which carries the cookie."""
    return render(
        request,
        "registration/sso_saml_post.html",
        {"action": request.path, "response": encoded, "flag": RESUBMITTED},
    )


@csrf_exempt  # the IdP posts here; the response's signature and InResponseTo bind it
@require_POST
@never_cache
def sso_saml_acs(request: HttpRequest, connection_id: UUID) -> HttpResponse:
    """The IdP's response: it finishes this browser's sign-in or test (the flow its
    InResponseTo names, begun with this very connection), or is an IdP-initiated one."""
    encoded = request.POST.get("SAMLResponse", "")
    if not encoded:
        return refusal_page(request, "No SAML response came with this request.", 400)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and RESUBMITTED not in request.POST:
        return _resubmit(request, encoded)
    connection = _connection(connection_id)
    try:
        request_id = saml.answers(encoded)
    except SsoCheckFailed as failure:  # not recorded: anyone can post anything here
        return refusal_page(request, str(failure), 400)
    if request_id is None:
        return _idp_initiated(request, connection, encoded)
    try:
        pending = flows.take(request, request_id)
    except flows.FlowUnusable:
        return refusal_page(request, GONE, 400)
    if pending.connection_id != str(connection.pk):
        return refusal_page(request, MIXED_UP, 400)
    if pending.mode == flows.TEST:
        return finish_test(
            request, connection, pending, *_test_result(connection, encoded, request_id)
        )
    try:
        assertion = _accepted(connection, encoded, request_id)
    except SsoCheckFailed as failure:
        return refused(request, connection, str(failure))
    return signed_in(request, connection, assertion.claims, pending.then)


def _accepted(connection: SsoConnection, encoded: str, request_id: str | None) -> saml.Assertion:
    assertion = saml.check_response(connection, encoded, request_id)
    saml_assertion_accepted(connection, assertion)
    return assertion


def _idp_initiated(request: HttpRequest, connection: SsoConnection, encoded: str) -> HttpResponse:
    """A sign-in the IdP started: only for an active connection that allows it, to the
    portal's home (the RelayState is the IdP's to set, so it is not followed). Anyone can
    post here, so a refusal is recorded only when the IdP's signature held: a stranger cannot
    write into the organization's trail."""
    if not (connection.is_active and connection.allow_idp_initiated):
        logger.info("Unsolicited SAML response to %s refused", connection.pk)
        return refusal_page(request, saml.UNSOLICITED)
    try:
        assertion = _accepted(connection, encoded, None)
    except SsoCheckFailed as failure:
        if failure.signed:
            return refused(request, connection, str(failure))
        logger.info("Unsigned or forged SAML response to %s refused: %s", connection.pk, failure)
        return refusal_page(request, str(failure))
    # Asked before signing in: another site can post a response of its own IdP here, which
    # would sign this browser in as someone else (login CSRF). The button is a CSRF-checked POST.
    request.session[UNASKED] = {
        "connection": str(connection.pk),
        "claims": assertion.claims,
        "until": time.time() + UNASKED_SECONDS,
    }
    who = email_or_blank(connection, assertion.claims)
    context = {"connection": connection, "who": who}
    return render(request, "registration/sso_saml_continue.html", context)


@require_POST
@never_cache
def sso_saml_continue(request: HttpRequest) -> HttpResponse:
    """The press on "Continue" after an IdP-initiated response: the sign-in it held."""
    held = request.session.pop(UNASKED, None)
    if not held or held.get("until", 0) < time.time():
        return refusal_page(request, GONE, 400)
    connection = _connection(UUID(held["connection"]))
    return signed_in(request, connection, held["claims"], reverse("portal:home"))


def _test_result(
    connection: SsoConnection, encoded: str, request_id: str
) -> tuple[bool, str, dict[str, Any]]:
    """The SAML test: the response, checked and noted as used."""

    def check() -> tuple[dict[str, Any], dict[str, Any]]:
        assertion = _accepted(connection, encoded, request_id)
        return assertion.decoded, assertion.claims

    return outcome_of_test(connection, check)
