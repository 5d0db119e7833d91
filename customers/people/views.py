"""Accepting an invitation: /invite/<token>/ (SPEC §4)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from customers.identity.models import User
from customers.identity.services.sign_in import password_sign_in_refused
from customers.people.forms import ExistingAccountForm, NewAccountForm
from customers.people.models import Invitation
from customers.people.services.invitations import invitation_for_token, invite_accept
from customers.platform.errors import SERVICE_ERRORS, InvitationUnusable, refusal_text
from customers.platform.requests import AuthedRequest

SESSION_KEY = "invite_token"


def _private(response: HttpResponse) -> HttpResponse:
    # Invitation pages show personal details: keep them out of every cache.
    response["Cache-Control"] = "no-store"
    return response


def invite_landing(request: AuthedRequest, token: str) -> HttpResponse:
    """Keep the token in the session and drop it from the URL (as password reset does)."""
    request.session[SESSION_KEY] = token
    response = _private(redirect("invite_accept"))
    # The only URL that carries the token must not leak it through a Referer header. (The
    # pages after it keep the normal policy: with "no-referrer" browsers send "Origin: null"
    # on the form's POST, which CSRF protection rightly refuses.)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
def invite_accept_view(request: AuthedRequest) -> HttpResponse:
    token = request.session.get(SESSION_KEY, "")
    invitation = invitation_for_token(token)
    if invitation is None or invitation.status == Invitation.Status.ACCEPTED:
        # Unknown and already used look the same: the page tells a guesser nothing.
        return _invalid(request, "used_or_unknown")
    if not invitation.is_usable:
        return _invalid(request, invitation.display_status, invitation)
    context: dict[str, Any] = {"invitation": invitation, "customer": invitation.customer}
    if request.user.is_authenticated:
        return _signed_in(request, invitation, context)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if existing is not None and _accepted_meanwhile(invitation):
        # A concurrent acceptance created the account and used the link (one transaction).
        return _invalid(request, "used_or_unknown")
    step = _sign_in_and_accept if existing is not None else _create_account_and_accept
    return step(request, invitation, context)


def _signed_in(request: AuthedRequest, invitation: Invitation, context: dict[str, Any]):
    user = request.user
    if user.email.lower() != invitation.email.lower():
        # Audited as denied by the service, and the invitation stays pending.
        try:
            invite_accept(invitation=invitation, actor=user)
        except SERVICE_ERRORS as error:
            context["wrong_account"] = refusal_text(error)
        return _private(render(request, "customers/invite/accept.html", context, status=403))
    if request.method == "POST":
        return _accept(request, invitation, user)
    context["mode"] = "confirm"
    return _private(render(request, "customers/invite/accept.html", context))


def _sign_in_and_accept(request: AuthedRequest, invitation: Invitation, context: dict[str, Any]):
    form = ExistingAccountForm(request.POST or None)
    context.update(mode="sign_in", form=form)
    if request.method == "POST" and form.is_valid():
        account = authenticate(
            request, username=invitation.email, password=form.cleaned_data["password"]
        )
        if account is not None:
            return _accept(request, invitation, account)
        form.add_error("password", "That password is not right for this account.")
    return _form_page(request, context)


def _create_account_and_accept(
    request: AuthedRequest, invitation: Invitation, context: dict[str, Any]
):
    form = NewAccountForm(request.POST or None, email=invitation.email)
    context.update(mode="new", form=form)
    if request.method == "POST" and form.is_valid():
        try:
            # The account and the acceptance commit together: a concurrent acceptance of
            # the same link waits on the account's email, then fails and says "used".
            with transaction.atomic():
                account = User.objects.create_user(
                    email=invitation.email,
                    password=form.cleaned_data["password1"],
                    name=form.cleaned_data["name"],
                )
                return _accept(request, invitation, account)
        except IntegrityError:
            return _invalid(request, "used_or_unknown")
    return _form_page(request, context)


def _form_page(request: AuthedRequest, context: dict[str, Any]) -> HttpResponse:
    status = 422 if request.method == "POST" else 200
    return _private(render(request, "customers/invite/accept.html", context, status=status))


def _accepted_meanwhile(invitation: Invitation) -> bool:
    invitation.refresh_from_db(fields=["status"])
    return invitation.status == Invitation.Status.ACCEPTED


def _accept(request: AuthedRequest, invitation: Invitation, user: User) -> HttpResponse:
    """Accept, then sign in: unless the customer's rules refuse a password sign-in (forced
    SSO, or a suspended customer), with the same refusal as the sign-in page. A user with an
    enrolled second factor still has to give their code (the portal asks for it)."""
    try:
        invite_accept(invitation=invitation, actor=user)
    except InvitationUnusable:
        return _invalid(request, "used_or_unknown")
    except SERVICE_ERRORS as error:
        messages.error(request, refusal_text(error))
        return _invalid(request, "refused", invitation, message=refusal_text(error))
    request.session.pop(SESSION_KEY, None)
    refusal = password_sign_in_refused(user, request)
    if refusal:
        if request.user.is_authenticated:
            logout(request)
        return _invalid(request, "accepted_sign_in_refused", invitation, message=refusal)
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome to {invitation.customer.name}.")
    return _private(redirect("portal:home"))


def _invalid(
    request: AuthedRequest, reason: str, invitation: Invitation | None = None, message: str = ""
) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return _private(
        render(
            request,
            "customers/invite/invalid.html",
            {"reason": reason, "invitation": invitation, "message": message},
            status={"refused": 409, "accepted_sign_in_refused": 403}.get(reason, 410),
        )
    )
