"""Signing in through SSO: the identifier-first sign-in page (an email whose verified domain
has an active connection goes to that provider, others get the password form), the start of
the round trip, and the callback that finishes a sign-in or a connection test."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.domains.models import VerifiedDomain
from customers.identity.forms import SignInForm
from customers.identity.models import User
from customers.identity.signals import SESSION_SSO_CONNECTION, SESSION_SSO_CUSTOMER
from customers.identity.sso import flows
from customers.identity.sso.grants import actor_of, link_by_id
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.provisioning import SignInRefused, email_of
from customers.identity.sso.provisioning import sso_sign_in as seat_for_sign_in
from customers.identity.sso.services import sso_connection_test_recorded
from customers.platform.net import local_path

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
GO = "sso_go"
GONE = (
    "This sign-in can't be finished: it was already used, it took longer than ten minutes, "
    "or it began in another browser. Start again from the sign-in page."
)


def routes_for(email: str) -> list[SsoConnection]:
    """The active connections an email's domain leads to: of each customer that verified the
    domain (one per organization). People of an organization (the console) keep passwords."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or "\x00" in email:
        return []
    person = User.objects.filter(email__iexact=email).first()
    if person and person.memberships.exists():
        return []
    customers = VerifiedDomain.objects.for_sign_in().filter(
        domain=email.rsplit("@", 1)[1], status=VerifiedDomain.Status.VERIFIED
    )
    return list(
        SsoConnection.objects.for_sign_in()
        .filter(customer_id__in=customers.values("customer_id"), status=SsoConnection.Status.ACTIVE)
        .select_related("customer__organization")
        .order_by("customer__name", "name")
    )


def onward(request: HttpRequest, url: str, to: str) -> HttpResponse:
    """Send the browser on to ``url`` by a page that refreshes to it (and a link), not by a
    redirect: the page's CSP allows forms to post only to Tenantry, and browsers hold a
    form's redirects to that, so a POST cannot be redirected to the provider."""
    return render(request, "registration/sso_onward.html", {"url": url, "to": to})


def start_url(connection: SsoConnection, next_path: str, email: str, go: str) -> str:
    """The start of a sign-in through ``connection``, carrying this browser's ``go`` token."""
    query = {k: v for k, v in {"next": next_path, "login_hint": email, "go": go}.items() if v}
    path = reverse("sso_start", args=[connection.pk])
    return f"{path}?{urlencode(query)}" if query else path


def go_token(request: HttpRequest) -> str:
    """A one-time token the sign-in page (a CSRF-checked POST) hands this browser's start
    links: a start without it, such as a link on another site, asks first (login CSRF)."""
    token = secrets.token_urlsafe(16)
    request.session[GO] = token
    return token


def _went_here(request: HttpRequest) -> bool:
    expected, given = request.session.pop(GO, ""), request.GET.get("go", "")
    return bool(expected and given) and secrets.compare_digest(expected, given)


class SignInView(auth_views.LoginView):
    """Identifier first: "Continue" with only an email routes it (to its one provider, or to a
    choice of them beside the password form); with a password it signs in. ``?password=1``
    goes straight to the password form."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("step") != "identify":
            return super().post(request, *args, **kwargs)
        email = request.POST.get("username", "").strip()
        routes = routes_for(email)
        next_path = local_path(request.POST.get("next", "")) or ""
        go = go_token(request) if routes else ""
        if len(routes) == 1:
            return onward(request, start_url(routes[0], next_path, email, go), routes[0].name)
        form = self.get_form_class()(request, initial={"username": email})
        context = self.get_context_data(form=form)
        context.update(
            identified=True,
            routes=[(c, start_url(c, next_path, email, go)) for c in routes],
        )
        return self.render_to_response(context)


def refusal_page(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    return render(request, "registration/sso_refused.html", {"reason": reason}, status=status)


@never_cache
def sso_start(request: HttpRequest, connection_id: UUID) -> HttpResponse:
    """Send the browser to the connection's provider to sign in: at once when the sign-in
    page sent it here (its go token), else after a press on "Continue" (a CSRF-checked POST),
    so another site cannot start a sign-in in this browser."""
    connection = get_object_or_404(
        SsoConnection.objects.for_sign_in().select_related("customer__organization"),
        pk=connection_id,
        status=SsoConnection.Status.ACTIVE,
    )
    asked = request.POST if request.method == "POST" else request.GET
    then = local_path(asked.get("next", "")) or reverse("portal:home")
    hint = asked.get("login_hint", "")[:254]
    if request.method != "POST" and not _went_here(request):
        context = {"connection": connection, "next": then, "login_hint": hint}
        return render(request, "registration/sso_start.html", context)
    try:
        url = flows.begin(request, connection, mode=flows.SIGN_IN, then=then, login_hint=hint)
    except SsoCheckFailed as failure:
        return refusal_page(request, f"{connection.name} can't be reached: {failure}", 502)
    # After a POST, a page sends the browser on (CSP's form-action holds a form's redirects).
    return onward(request, url, connection.name) if request.method == "POST" else redirect(url)


# A provider's error codes (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6) in words. Only
# these are shown or recorded, never the answer's own text: anyone can put text in a URL.
PROVIDER_ERRORS = {
    "access_denied": "the sign-in was refused or cancelled there",
    "login_required": "you need to sign in there first",
    "interaction_required": "it needs you to do something there first",
    "consent_required": "it needs your consent first",
    "account_selection_required": "it needs you to choose an account first",
    "invalid_request": "the request was not valid",
    "unauthorized_client": "Tenantry is not allowed to use this flow there",
    "unsupported_response_type": "it does not support the authorization code flow",
    "invalid_scope": "it refused the scopes asked for",
    "server_error": "it failed",
    "temporarily_unavailable": "it is unavailable for now",
}
MIXED_UP = (
    "This answer came back for a different connection than the sign-in began with, so it "
    "was not used. Start again from the sign-in page."
)


def provider_said(error: str | None) -> str:
    """What the provider's answer says, in words: never the provider's own text."""
    if not error:
        return "The provider sent no code back."
    words = PROVIDER_ERRORS.get(error)
    return f"The provider said {words} ({error})." if words else "The provider sent an error."


@never_cache
def sso_oidc_callback(request: HttpRequest, connection_id: UUID) -> HttpResponse:
    """Where the connection's provider sends the browser back, with a code (or an error) and
    the state; the flow the state names must have begun with this very connection."""
    try:
        pending = flows.take(request, request.GET.get("state", ""))
    except flows.FlowUnusable:
        return refusal_page(request, GONE, 400)
    if pending.connection_id != str(connection_id):
        return refusal_page(request, MIXED_UP, 400)
    connection = flows.connection_of(pending)
    if connection is None:
        return refusal_page(request, "That SSO connection was removed meanwhile.", 404)
    if pending.mode == flows.TEST:
        return finish_test(
            request, connection, pending, *_test_result(request, connection, pending)
        )
    error, code = request.GET.get("error"), request.GET.get("code", "")
    if error or not code:
        return refused(request, connection, provider_said(error))
    try:
        identity = flows.complete(connection, pending, code, request.GET.get("iss"))
    except SsoCheckFailed as failure:
        return refused(request, connection, str(failure))
    return signed_in(request, connection, identity.claims, pending.then)


def signed_in(
    request: HttpRequest, connection: SsoConnection, claims: dict[str, Any], then: str
) -> HttpResponse:
    """Sign in to the seat checked claims lead to, confined to the connection's customer."""
    try:
        seat = seat_for_sign_in(connection=connection, claims=claims)
    except SignInRefused as refusal:  # audited by the service
        return refusal_page(request, str(refusal))
    login(request, seat.user, backend=MODEL_BACKEND)
    request.session[SESSION_SSO_CUSTOMER] = str(connection.customer_id)
    request.session[SESSION_SSO_CONNECTION] = str(connection.pk)
    return redirect(then)


def refused(request: HttpRequest, connection: SsoConnection, reason: str) -> HttpResponse:
    record(
        action=Action.SSO_REFUSED,
        organization=connection.customer.organization,
        resource=connection,
        outcome=Outcome.DENIED,
        message=reason,
    )
    return refusal_page(request, f"Signing in through {connection.name} failed. {reason}")


def outcome_of_test(
    connection: SsoConnection, check: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
) -> tuple[bool, str, dict[str, Any]]:
    """Whether a test passed, what it found in plain words, and the decoded answer, for
    either protocol: ``check`` returns what to show and the checked claims, or raises."""
    shown: dict[str, Any] = {}
    try:
        shown, claims = check()
        email = email_of(connection, claims)
    except SsoCheckFailed as failure:
        return False, f"Failed at “{failure.check}”: {failure}", shown or failure.details
    except SignInRefused as refusal:
        return False, f"Failed at “email”: {refusal}", shown
    return True, f"Passed: the provider signed in {email}.", shown


def _test_result(
    request: HttpRequest, connection: SsoConnection, pending: flows.Pending
) -> tuple[bool, str, dict[str, Any]]:
    """The OpenID Connect test: the provider's answer, exchanged and checked."""

    def check() -> tuple[dict[str, Any], dict[str, Any]]:
        error, code = request.GET.get("error"), request.GET.get("code", "")
        if error or not code:
            raise SsoCheckFailed("provider", provider_said(error))
        identity = flows.complete(connection, pending, code, request.GET.get("iss"))
        return {"claims": identity.claims, "header": identity.header}, identity.claims

    return outcome_of_test(connection, check)


def finish_test(
    request: HttpRequest,
    connection: SsoConnection,
    pending: flows.Pending,
    passed: bool,
    result: str,
    shown: dict[str, Any],
) -> HttpResponse:
    """Record what the test found (the failing check in plain words, or who it signed in)
    and show the decoded answer once on the connection's page."""
    actor = link_by_id(pending.by_link) if pending.by_link else actor_of(request)
    sso_connection_test_recorded(connection=connection, actor=actor, passed=passed, result=result)
    request.session[flows.TEST_SHOWN] = {
        "connection": str(connection.pk),
        "passed": passed,
        "result": result,
        "decoded": json.dumps(shown, indent=2, sort_keys=True, default=str) if shown else "",
    }
    (messages.success if passed else messages.error)(request, result)
    return redirect(pending.then)
