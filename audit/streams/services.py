"""Log streams and the organization's audit settings: create, switch on and off, delete, send a
test event, the retention period and read auditing. Owners only; every change is audited and
no credential ever is."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.streams import formats
from audit.streams.delivery import DeliveryFailed, send, wake
from audit.streams.models import LogStream
from audit.trail.actions import Action
from audit.trail.models import AuditEntry
from audit.trail.services import Outcome, record
from customers.platform.errors import Conflict, Invalid
from customers.platform.outbound.safety import UnsafeDestination, check_destination
from customers.platform.outbound.secrets import encrypt, new_secret
from customers.records.services.common import audited, locked_organization
from customers.selectors import Organization, User

log = logging.getLogger(__name__)

MAX_STREAMS = 5
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.jsonl")
LAG_COUNT_LIMIT = 10_000
RETENTION_DAYS = (30, 3650)
START_CHOICES = [
    ("new", "New entries only"),
    ("resume", "Where the last deleted stream stopped"),
    ("since", "Entries from a time"),
]
NOTHING_TO_RESUME = "No stream of this organization was deleted yet: choose another start."
SINCE_REQUIRED = "Enter the time to start from."


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    if not url.startswith("https://") and not settings.AUDIT_STREAM_ALLOW_PRIVATE:
        raise Invalid("Use an https:// URL: audit entries travel encrypted.")
    try:
        check_destination(url, allow_private=settings.AUDIT_STREAM_ALLOW_PRIVATE)
    except UnsafeDestination as refused:
        raise Invalid(str(refused)) from None
    return url


def _destination(kind: str, url: str, file_name: str, secret: str) -> dict[str, str]:
    """The fields this kind of stream needs, checked; the credential the stream will use."""
    if kind == LogStream.Kind.FILE:
        if not FILE_NAME.fullmatch(file_name or ""):
            raise Invalid("Name the file like audit.jsonl: letters, digits, . _ - and .jsonl.")
        return {"file_name": file_name, "url": "", "secret": ""}
    if kind == LogStream.Kind.DATADOG:
        url = url or formats.DATADOG_INTAKE
    if kind in (LogStream.Kind.SPLUNK, LogStream.Kind.DATADOG) and not secret.strip():
        name = "HEC token" if kind == LogStream.Kind.SPLUNK else "API key"
        raise Invalid(f"Enter the {name} the stream sends with.")
    if kind == LogStream.Kind.HTTPS:
        secret = new_secret()  # ours, shown once: the receiver verifies with it
    return {"file_name": "", "url": _checked_url(url), "secret": secret.strip()}


@audited(Action.LOG_STREAM_CREATED)
@transaction.atomic
def stream_create(
    *,
    organization: Organization,
    actor: User,
    kind: str,
    name: str,
    url: str = "",
    file_name: str = "",
    secret: str = "",
    start: str = "new",
    since: datetime | None = None,
) -> tuple[LogStream, str]:
    """A new stream and the HTTPS signing secret, returned here once (other kinds: ""). It
    starts after the newest entry, where the last deleted stream stopped, or at ``since``."""
    if kind not in LogStream.Kind.values:
        raise Invalid("Choose what kind of stream this is.")
    if not (name or "").strip():
        raise Invalid("Give the stream a name.")
    locked_organization(organization)  # the count below holds until this commits
    if LogStream.objects.for_organization(organization).count() >= MAX_STREAMS:
        raise Conflict(f"An organization can have {MAX_STREAMS} log streams: delete one first.")
    where = _destination(kind, url, file_name, secret)
    cursor = _start_cursor(organization, start, since)
    stream = LogStream.objects.create(
        organization=organization,
        kind=kind,
        name=name.strip()[:120],
        url=where["url"],
        file_name=where["file_name"],
        secret_encrypted=encrypt(where["secret"]) if where["secret"] else "",
        cursor=cursor,
    )
    record(
        action=Action.LOG_STREAM_CREATED,
        organization=organization,
        actor=actor,
        resource=stream,
        changes={
            "kind": [None, kind],
            "url": [None, stream.url],
            "file_name": [None, stream.file_name],
            "secret": [None, "set"] if where["secret"] else [None, None],
        },
    )
    return stream, where["secret"] if kind == LogStream.Kind.HTTPS else ""


def _start_cursor(organization: Organization, start: str, since: datetime | None) -> int:
    """The id after which a new stream starts sending."""
    entries = AuditEntry.objects.for_organization(organization)
    if start == "resume":
        deleted = entries.filter(action=Action.LOG_STREAM_DELETED, outcome="success").order_by(
            "-id"
        )
        for changes in deleted.values_list("changes", flat=True)[:1]:
            stopped = (changes or {}).get("stopped_after") or [None]
            if isinstance(stopped[0], int):
                return stopped[0]
        raise Invalid(NOTHING_TO_RESUME)
    if start == "since":
        if since is None:
            raise Invalid(SINCE_REQUIRED)
        before = entries.filter(created_at__lt=since).order_by("-id").values_list("pk", flat=True)
        return before.first() or 0
    return entries.order_by("-id").values_list("pk", flat=True).first() or 0


@audited(Action.LOG_STREAM_UPDATED)
@transaction.atomic
def stream_set_enabled(*, stream: LogStream, enabled: bool, actor: User) -> LogStream:
    current = (
        LogStream.objects.for_organization(stream.organization_id)
        .select_for_update()
        .get(pk=stream.pk)
    )
    if current.enabled == enabled:
        return current
    current.enabled = enabled
    current.failures, current.next_attempt_at = 0, None  # switched back on: a fresh start
    current.save(update_fields=["enabled", "failures", "next_attempt_at"])
    record(
        action=Action.LOG_STREAM_UPDATED,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes={"enabled": [not enabled, enabled]},
    )
    if enabled:
        transaction.on_commit(wake)  # what waited while it was off goes out now
    return current


@audited(Action.LOG_STREAM_DELETED)
@transaction.atomic
def stream_delete(*, stream: LogStream, actor: User) -> None:
    stream = (
        LogStream.objects.for_organization(stream.organization_id)
        .select_for_update()
        .get(pk=stream.pk)
    )  # its cursor now
    record(
        action=Action.LOG_STREAM_DELETED,
        organization=stream.organization,
        actor=actor,
        resource=stream,
        changes={
            "kind": [stream.kind, None],
            "url": [stream.url or stream.file_name, None],
            # where it stopped: a stream that replaces it can start there ("resume")
            "stopped_after": [stream.cursor, None],
        },
    )
    stream.delete()


def stream_send_test(*, stream: LogStream, actor: User) -> str:
    """Send one test event now; "" when it arrived, or what went wrong. Audited either way."""
    try:
        send(stream, [formats.test_event(stream)])
        error = ""
    except DeliveryFailed as failure:
        error = str(failure)
    except Exception as failure:  # a credential that no longer decrypts, …: said, not a 500
        log.exception("test event to log stream %s failed unexpectedly", stream.pk)
        error = f"Internal error: {type(failure).__name__}"
    record(
        action=Action.LOG_STREAM_TEST_SENT,
        organization=stream.organization,
        actor=actor,
        resource=stream,
        outcome=Outcome.FAILURE if error else Outcome.SUCCESS,
        message=error[:500],
    )
    return error


@dataclass
class Lag:
    entries: int  # waiting, counted up to LAG_COUNT_LIMIT
    oldest: datetime | None  # the oldest entry still waiting

    @property
    def more(self) -> bool:
        return self.entries >= LAG_COUNT_LIMIT

    @property
    def seconds(self) -> int:
        return int((timezone.now() - self.oldest).total_seconds()) if self.oldest else 0


def stream_lag(stream: LogStream) -> Lag:
    waiting = AuditEntry.objects.for_organization(stream.organization_id).filter(
        id__gt=stream.cursor
    )
    count = waiting.order_by()[:LAG_COUNT_LIMIT].count()
    oldest = waiting.order_by("id").values_list("created_at", flat=True).first()
    return Lag(count, oldest)


@audited(Action.AUDIT_SETTINGS_CHANGED)
@transaction.atomic
def audit_settings_set(
    *, organization: Organization, actor: User, retention_days: Any, audit_reads: bool
) -> Organization:
    """The retention period (30 to 3,650 days) and whether reads are audited."""
    try:
        days = int(retention_days)
    except (TypeError, ValueError):
        raise Invalid("Enter the retention period as a whole number of days.") from None
    low, high = RETENTION_DAYS
    if not low <= days <= high:
        raise Invalid(f"Keep audit entries between {low} and {high:,} days.")
    current = Organization.objects.select_for_update().get(pk=organization.pk)
    changes = {
        field: [getattr(current, field), value]
        for field, value in (("audit_retention_days", days), ("audit_reads", bool(audit_reads)))
        if getattr(current, field) != value
    }
    if changes:
        for field, (_, value) in changes.items():
            setattr(current, field, value)
        current.save(update_fields=list(changes))
        record(
            action=Action.AUDIT_SETTINGS_CHANGED,
            organization=current,
            actor=actor,
            resource=current,
            changes=changes,
        )
    return current
