"""Settings → Audit Log settings: how long entries are kept, whether reads are recorded, and the
log streams that export the trail to the organization's SIEM (status, lag, last error, a test
event). Owners change them; admins and viewers read them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.forms import AuditSettingsForm, LogStreamForm
from audit.streams import services
from audit.streams.models import LogStream
from customers.identity.permissions import organization_required, refuse_unless_owner
from customers.platform.errors import SERVICE_ERRORS
from customers.platform.requests import AuthedRequest
from customers.platform.responses import (
    private_page,
    refusal_onto_form,
    secret_to_show,
    show_secret_once,
)

STREAM_ACTIONS = ("enable", "disable", "delete", "test")


def _page(request: AuthedRequest, **forms: Any) -> HttpResponse:
    organization = request.organization
    streams = list(LogStream.objects.for_organization(organization))
    for stream in streams:
        stream.lag = services.stream_lag(stream)
    settings_form = forms.get("settings_form") or AuditSettingsForm(
        initial={
            "retention_days": organization.audit_retention_days,
            "audit_reads": organization.audit_reads,
        }
    )
    stream_form = forms.get("stream_form") or LogStreamForm()
    new_secret = secret_to_show(request)
    failed = settings_form.errors or stream_form.errors
    response = render(
        request,
        "audit/audit_settings.html",
        {
            "settings_form": settings_form,
            "stream_form": stream_form,
            "streams": streams,
            "is_owner": request.membership.role == request.membership.Role.OWNER,
            "new_secret": new_secret,
        },
        status=422 if failed else 200,
    )
    return private_page(response, new_secret)


@organization_required
def audit_settings(request: AuthedRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    refuse_unless_owner(request)
    form = AuditSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.audit_settings_set(
                organization=request.organization,
                actor=request.user,
                retention_days=form.cleaned_data["retention_days"],
                audit_reads=form.cleaned_data["audit_reads"],
            )
        except SERVICE_ERRORS as error:
            refusal_onto_form(form, error, field="retention_days")
        else:
            messages.success(request, "Audit Log settings saved.")
            return redirect(_settings_url())
    return _page(request, settings_form=form)


@organization_required
@require_POST
def stream_add(request: AuthedRequest) -> HttpResponse:
    refuse_unless_owner(request)
    form = LogStreamForm(request.POST)
    if form.is_valid():
        try:
            stream, secret = services.stream_create(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except SERVICE_ERRORS as error:
            refusal_onto_form(form, error)
        else:
            messages.success(request, f"Log stream “{stream.name}” added.")
            if secret:
                return show_secret_once(request, secret, _settings_url())
            return redirect(_settings_url())
    return _page(request, stream_form=form)


def _settings_url() -> str:
    return reverse("activity:audit_settings")


def _stream(request: AuthedRequest, stream_id: UUID) -> LogStream:
    return get_object_or_404(LogStream.objects.for_organization(request.organization), pk=stream_id)


@organization_required
@require_POST
def stream_action(request: AuthedRequest, stream_id: UUID, action: str) -> HttpResponse:
    """Switch a stream on or off, delete it, or send it a test event."""
    if action not in STREAM_ACTIONS:
        raise Http404("No such action.")
    stream = _stream(request, stream_id)
    refuse_unless_owner(request)
    if action == "test":
        error = services.stream_send_test(stream=stream, actor=request.user)
        if error:
            messages.error(request, f"The test event did not arrive: {error}")
        else:
            messages.success(request, f"A test event reached “{stream.name}”.")
    elif action == "delete":
        services.stream_delete(stream=stream, actor=request.user)
        messages.success(request, f"Log stream “{stream.name}” deleted.")
    else:
        services.stream_set_enabled(stream=stream, enabled=action == "enable", actor=request.user)
        state = "on" if action == "enable" else "off"
        messages.success(request, f"Log stream “{stream.name}” switched {state}.")
    return redirect(_settings_url() + f"#stream-{stream.pk}")
