"""The forms of the Audit Log's settings page: retention and read auditing, and a new stream.
The services check what the forms cannot (destinations, limits)."""

from __future__ import annotations

from django import forms

from audit.streams.models import LogStream
from audit.streams.services import START_CHOICES


class AuditSettingsForm(forms.Form):
    retention_days = forms.IntegerField(
        label="Keep entries for (days)",
        min_value=30,
        max_value=3650,
        help_text="Older entries are exported to an archive, verified, then removed. 30 to 3,650.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    audit_reads = forms.BooleanField(
        required=False,
        label="Record who views customers",
        help_text="Opening a customer's page, and support staff opening a record in the "
        "admin, each add a “viewed” entry. Exports of this log are always recorded.",
    )


class LogStreamForm(forms.Form):
    kind = forms.ChoiceField(label="Send to", choices=LogStream.Kind.choices)
    name = forms.CharField(max_length=120, help_text="What you call it, e.g. “Splunk (prod)”.")
    url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="URL",
        help_text="HTTPS and Splunk: the endpoint (Splunk: …/services/collector/event). "
        "Datadog: leave empty for the US site, or your site's logs intake URL.",
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        label="Token or API key",
        widget=forms.PasswordInput(render_value=False),
        help_text="Splunk: the HEC token. Datadog: an API key. HTTPS streams get a signing "
        "secret from us instead. Kept encrypted, never shown again.",
    )
    file_name = forms.CharField(
        max_length=120,
        required=False,
        label="File name",
        help_text="JSON Lines file: a name like audit.jsonl, written on the server.",
    )
    start = forms.ChoiceField(
        label="Start with",
        choices=START_CHOICES,
        initial="new",
        required=False,  # a client that does not say starts with new entries, as before
        widget=forms.RadioSelect,
        help_text="Replacing a stream? Start where it stopped, so the receiver misses nothing.",
    )
    since = forms.DateTimeField(
        required=False,
        label="From (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="With “Entries from a time”: every entry from then on.",
    )

    def clean_start(self) -> str:
        return self.cleaned_data.get("start") or "new"
