"""Settings → Webhooks: the organization's endpoints, each with its delivery log, replay,
test event and secret rotation. Owners and admins change them; viewers read them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from customers.identity.permissions import (
    organization_required,
    refuse_write,
    write_access_required,
)
from customers.platform.errors import SERVICE_ERRORS
from customers.platform.keyset import keyset_page
from customers.platform.rendering import render_page
from customers.platform.requests import AuthedRequest
from customers.platform.responses import (
    attempt,
    private_page,
    refusal_onto_form,
    secret_to_show,
    show_secret_once,
)
from customers.webhooks.delivery import body_of
from customers.webhooks.forms import ReplaySinceForm, WebhookEndpointForm
from customers.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from customers.webhooks.registry import EVENT_TYPES
from customers.webhooks.services import (
    delivery_replay,
    endpoint_create,
    endpoint_delete,
    endpoint_replay_since,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

LOG_PAGE_SIZE = 25


def _endpoint(request: AuthedRequest, endpoint_id: UUID) -> WebhookEndpoint:
    return get_object_or_404(
        WebhookEndpoint.objects.for_organization(request.organization), pk=endpoint_id
    )


def _detail_url(endpoint: WebhookEndpoint) -> str:
    return reverse("webhook_detail", args=[endpoint.pk])


@organization_required
def webhooks(request: AuthedRequest) -> HttpResponse:
    form = WebhookEndpointForm()
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = endpoint_create(
                    organization=request.organization,
                    actor=request.user,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    event_types=form.cleaned_data["event_types"],
                )
            except SERVICE_ERRORS as error:
                refusal_onto_form(form, error, field="url")
            else:
                messages.success(request, "Endpoint added. Copy its signing secret now.")
                return show_secret_once(request, secret, _detail_url(endpoint))
    endpoints = WebhookEndpoint.objects.for_organization(request.organization)
    return render(
        request,
        "customers/webhooks.html",
        {"form": form, "endpoints": endpoints, "event_types": EVENT_TYPES.values()},
        status=422 if form.errors else 200,
    )


def _deliveries(request: AuthedRequest, endpoint: WebhookEndpoint) -> Any:
    deliveries = (
        WebhookDelivery.objects.for_organization(request.organization)
        .filter(endpoint=endpoint)
        .select_related("event", "replay_of")
        .prefetch_related(
            Prefetch(  # the page shows each delivery's attempts (one query for the page)
                "attempt_log",
                queryset=WebhookAttempt.objects.for_organization(request.organization).order_by(
                    "-id"
                ),
            )
        )
    )
    event_type = request.GET.get("type", "")
    if event_type in EVENT_TYPES:
        deliveries = deliveries.filter(event__type=event_type)
    outcome = request.GET.get("outcome", "")
    if outcome in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=outcome)
    page = keyset_page(deliveries, "created_at", request.GET, LOG_PAGE_SIZE)
    for delivery in page.rows:  # what was signed and sent (the event and sequence fix it)
        delivery.body = body_of(delivery)
    return page


@organization_required
def webhook_detail(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    new_secret = secret_to_show(request)
    page = _detail_page(request, endpoint, _edit_form(endpoint), new_secret=new_secret)
    return private_page(page, new_secret)


def _edit_form(endpoint: WebhookEndpoint) -> WebhookEndpointForm:
    return WebhookEndpointForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "enabled": endpoint.enabled,
        }
    )


def _detail_page(
    request: AuthedRequest,
    endpoint: WebhookEndpoint,
    form: WebhookEndpointForm,
    *,
    new_secret: str | None = None,
    replay_form: ReplaySinceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # Only a GET (the log's filters and pager) is answered with just the log; a refused form
    # always gets the whole page, so its errors show.
    answer = render_page if request.method == "GET" else render
    return answer(
        request,
        "customers/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "replay_form": replay_form or ReplaySinceForm(),
            "new_secret": new_secret,
            "page": _deliveries(request, endpoint),
            "event_types": list(EVENT_TYPES),
            "outcomes": WebhookDelivery.Status.choices,
        },
        status=status,
    )


@require_POST
@write_access_required
def webhook_edit(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint_update(endpoint=endpoint, changes=form.cleaned_data, actor=request.user)
        except SERVICE_ERRORS as error:
            refusal_onto_form(form, error, field="url")
        else:
            messages.success(request, "Endpoint saved.")
            return redirect(_detail_url(endpoint))
    return _detail_page(request, endpoint, form, status=422)


@require_POST
@write_access_required
def webhook_rotate(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    secret = endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    messages.success(
        request, "New secret made. The old one also signs for 24 hours: switch your receiver."
    )
    return show_secret_once(request, secret, _detail_url(endpoint))


@require_POST
@write_access_required
def webhook_test(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    attempt(
        request,
        "Test event queued: it appears in the log below once sent.",
        endpoint_send_test,
        endpoint=endpoint,
        actor=request.user,
    )
    return redirect(_detail_url(endpoint))


@require_POST
@write_access_required
def webhook_delete(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("webhooks")


@require_POST
@write_access_required
def webhook_replay(request: AuthedRequest, endpoint_id: UUID, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_organization(request.organization).filter(endpoint=endpoint),
        pk=delivery_id,
    )
    delivery_replay(delivery=delivery, actor=request.user)
    messages.success(request, f"Sequence {delivery.sequence} queued again.")
    return redirect(_detail_url(endpoint))


@require_POST
@write_access_required
def webhook_replay_since(request: AuthedRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = ReplaySinceForm(request.POST)
    if form.is_valid():
        try:
            count = endpoint_replay_since(
                endpoint=endpoint, since=form.cleaned_data["since"], actor=request.user
            )
        except SERVICE_ERRORS as error:
            refusal_onto_form(form, error, field="since")
        else:
            messages.success(request, f"{count:,} events queued again.")
            return redirect(_detail_url(endpoint))
    return _detail_page(request, endpoint, _edit_form(endpoint), replay_form=form, status=422)
