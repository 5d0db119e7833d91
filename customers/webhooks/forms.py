"""The webhooks pages' forms: an endpoint, and a replay since a time."""

from __future__ import annotations

from django import forms

from customers.webhooks.models import WebhookEndpoint
from customers.webhooks.registry import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    """A webhook endpoint as the console edits it; the services check the URL's destination."""

    url = forms.URLField(
        max_length=500,
        label="Endpoint URL",
        assume_scheme="https",
        help_text="Where we POST each event. A public HTTPS address.",
    )
    # The model's field, with its length and its single-line rule (no CR/LF, U+2028, \x01…).
    description = WebhookEndpoint._meta.get_field("description").formfield(required=False)
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="None ticked: every event type, including ones added later.",
    )
    enabled = forms.BooleanField(required=False, initial=True)


class ReplaySinceForm(forms.Form):
    since = forms.DateTimeField(
        label="Replay events since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
