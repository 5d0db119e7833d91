"""Log streams: the audit trail exported to a SIEM (HTTPS signed per Standard Webhooks, Splunk
HEC, Datadog, a JSON Lines file), in order and at least once, through a receiver crash; and
the Audit Log settings page that configures them, with retention and read auditing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditEntry, LogStream
from audit.streams.delivery import backoff, deliver_now, stream_file
from audit.streams.services import stream_create
from audit.trail.services import record
from customers.platform.errors import Invalid
from tests.figures import count

pytestmark = pytest.mark.django_db
SETTINGS = "/settings/audit-log/settings/"


def later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


@pytest.fixture
def streaming(settings, receiver):
    settings.AUDIT_STREAM_ALLOW_PRIVATE = True
    return receiver


@pytest.fixture
def https_stream(org, owner, streaming):
    stream, secret = stream_create(
        organization=org, actor=owner, kind="https", name="SIEM", url=streaming.url
    )
    settled(streaming)
    stream.refresh_from_db()
    return stream, secret


def settled(receiver) -> None:
    """Deliver what is pending (a new stream's first event is its own creation), then
    forget it: the tests look at what comes next."""
    deliver_now()
    receiver.received.clear()


def entries_in(bodies: list[dict]) -> list[dict]:
    return [entry for body in bodies for entry in body["entries"]]


def test_new_entries_reach_the_receiver_signed_within_the_commit(
    org, owner, https_stream, streaming, django_capture_on_commit_callbacks
):
    stream, secret = https_stream
    with django_capture_on_commit_callbacks(execute=True):
        entry = record(action="customer.updated", organization=org, actor=owner)
    (body,) = streaming.events(secret)  # verified with standardwebhooks, or it raises
    (event,) = body["entries"]
    assert event["id"] == f"audit_{entry.pk}"
    assert event["action"] == "customer.updated"
    assert event["actor"] == {"type": "user", "label": owner.email}
    assert event["hash"] == entry.hash
    before = stream.delivered
    stream.refresh_from_db()
    assert (stream.cursor, stream.delivered) == (entry.pk, before + 1)


def test_a_stream_starts_with_its_own_creation(org, owner, streaming):
    # What was recorded before the stream existed (organization.created, …) is not sent.
    _, secret = stream_create(
        organization=org, actor=owner, kind="https", name="SIEM", url=streaming.url
    )
    deliver_now()
    (body,) = streaming.events(secret)
    assert [event["action"] for event in body["entries"]] == ["log_stream.created"]


def test_a_receiver_killed_mid_stream_loses_nothing_and_duplicates_nothing(
    org, owner, https_stream, streaming, django_capture_on_commit_callbacks
):
    stream, secret = https_stream
    streaming.crash_on = 3  # the third batch arrives, is never answered, and the server dies
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        written = [record(action=f"burst.{n}", organization=org) for n in range(350)]
    stream.refresh_from_db()
    # At least one failure is recorded; how many depends on how often the worker was woken
    # while the receiver was down (timing, not a rule).
    assert stream.failures >= 1
    assert stream.last_error  # connection reset / refused, shown on the page
    streaming.start()  # back, on the same port
    with later(backoff(stream.failures).total_seconds() + 1):
        deliver_now()

    arrived = [json.loads(r["body"]) for r in streaming.received]
    signer = Webhook(secret)
    for r in streaming.received:
        signer.verify(r["body"], r["headers"])
    ids = [event["id"] for event in entries_in(arrived)]
    kept = list(dict.fromkeys(ids))  # what a receiver keeps after de-duplication by id
    assert kept == [f"audit_{entry.pk}" for entry in written]  # all of them, in order
    assert len(ids) > len(kept)  # the crashed batch was sent again
    stream.refresh_from_db()
    assert (stream.cursor, stream.failures, stream.delivered) == (written[-1].pk, 0, 351)
    count("log streams: receivers killed", 1)
    count("log streams: entries lost", len(written) - len(kept))
    count("log streams: duplicates after de-duplication", len(kept) - len(set(kept)))


def test_failures_back_off_exponentially_and_recover(org, owner, https_stream, streaming):
    stream, _ = https_stream
    streaming.answers = [503, 503, 503]
    record(action="a", organization=org)
    waits = []
    for _ in range(3):
        with later(sum(waits) + (waits[-1] if waits else 0) + 1):
            deliver_now()
        stream.refresh_from_db()
        waits.append((stream.next_attempt_at - timezone.now()).total_seconds())
    assert stream.failures == 3
    assert stream.last_error.startswith("HTTP 503")
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(50) == timedelta(minutes=30)
    with later(120):
        deliver_now()
    stream.refresh_from_db()
    assert stream.failures == 0
    assert stream.delivered == 2  # its own creation, then "a"


def test_splunk_gets_hec_events_with_its_token(org, owner, streaming):
    _, shown = stream_create(
        organization=org,
        actor=owner,
        kind="splunk",
        name="Splunk",
        url=streaming.url,
        secret="hec-token-123",
    )
    assert shown == ""  # the token is theirs: never shown back
    settled(streaming)
    entry = record(action="a", organization=org)
    deliver_now()
    (request,) = streaming.received
    assert request["headers"]["authorization"] == "Splunk hec-token-123"
    (line,) = [json.loads(text) for text in request["body"].splitlines()]
    assert line["sourcetype"] == "tenantry:audit"
    assert line["event"]["id"] == f"audit_{entry.pk}"


def test_datadog_gets_logs_with_its_api_key(org, owner, streaming):
    stream_create(
        organization=org, actor=owner, kind="datadog", name="DD", url=streaming.url, secret="dd-1"
    )
    settled(streaming)
    entry = record(action="a", organization=org)
    deliver_now()
    (request,) = streaming.received
    assert request["headers"]["dd-api-key"] == "dd-1"
    (log,) = json.loads(request["body"])
    assert log["ddsource"] == "tenantry"
    assert json.loads(log["message"])["id"] == f"audit_{entry.pk}"


def test_a_file_stream_appends_json_lines_in_the_organizations_folder(
    org, owner, settings, tmp_path
):
    settings.AUDIT_STREAM_FILE_DIR = tmp_path / "streams"
    stream, _ = stream_create(
        organization=org, actor=owner, kind="file", name="File", file_name="audit.jsonl"
    )
    written = [record(action=f"f{n}", organization=org) for n in range(3)]
    deliver_now()
    path = stream_file(stream)
    assert path == tmp_path / "streams" / str(org.pk) / "audit.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["action"] == "log_stream.created"
    assert [line["id"] for line in lines[1:]] == [f"audit_{e.pk}" for e in written]


def test_a_file_that_cannot_be_written_is_a_clear_error_not_a_500(
    org, owner, owner_client, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    settings.AUDIT_STREAM_FILE_DIR = blocker
    stream, _ = stream_create(
        organization=org, actor=owner, kind="file", name="File", file_name="audit.jsonl"
    )
    response = owner_client.post(f"/settings/audit-log/streams/{stream.pk}/test", follow=True)
    assert response.status_code == 200
    assert "did not arrive: The file cannot be written" in response.content.decode()
    record(action="a", organization=org)
    deliver_now()
    stream.refresh_from_db()
    assert stream.last_error.startswith("The file cannot be written")
    assert stream.failures == 1


@pytest.mark.parametrize("name", ["../escape.jsonl", "a/b.jsonl", "audit.txt", ".hidden.jsonl"])
def test_a_file_stream_name_cannot_leave_its_folder(org, owner, name):
    with pytest.raises(Invalid, match="Name the file"):
        stream_create(organization=org, actor=owner, kind="file", name="F", file_name=name)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1/hooks", "private, loopback or link-local"),
        ("https://169.254.169.254/latest", "private, loopback or link-local"),
        ("https://10.0.0.8/", "private, loopback or link-local"),
        ("http://siem.example.com/", "Use an https:// URL"),
    ],
)
def test_private_destinations_are_refused(org, owner, settings, url, message):
    settings.AUDIT_STREAM_ALLOW_PRIVATE = False
    with pytest.raises(Invalid, match=message):
        stream_create(organization=org, actor=owner, kind="https", name="X", url=url)
    refused = AuditEntry.objects.for_organization(org).get(action="log_stream.created")
    assert refused.outcome == "failure"


def test_a_destination_that_turns_private_is_refused_at_delivery(
    org, owner, https_stream, settings
):
    stream, _ = https_stream
    settings.AUDIT_STREAM_ALLOW_PRIVATE = False
    record(action="a", organization=org)
    deliver_now()
    stream.refresh_from_db()
    assert "private, loopback or link-local" in stream.last_error
    assert stream.cursor < AuditEntry.objects.for_organization(org).latest("id").pk


def test_no_credential_is_ever_recorded(org, owner, streaming):
    stream_create(
        organization=org, actor=owner, kind="splunk", name="S", url=streaming.url, secret="s3cr3t"
    )
    entry = AuditEntry.objects.for_organization(org).get(action="log_stream.created")
    assert entry.changes["secret"] == [None, "set"]
    assert "s3cr3t" not in json.dumps(
        list(AuditEntry.objects.for_organization(org).values("changes", "message"))
    )


class TestSettingsPage:
    def test_owner_adds_an_https_stream_and_sees_its_secret_once(
        self, owner_client, org, streaming
    ):
        response = owner_client.post(
            "/settings/audit-log/streams/", {"kind": "https", "name": "SIEM", "url": streaming.url}
        )
        assert response.status_code == 302
        page = owner_client.get(SETTINGS)
        secret = page.context["new_secret"]
        assert secret.startswith("whsec_")
        assert page["Cache-Control"] == "no-store"
        assert secret not in owner_client.get(SETTINGS).content.decode()

    def test_bad_input_keeps_what_was_typed_and_says_why(self, owner_client, org, settings):
        settings.AUDIT_STREAM_ALLOW_PRIVATE = False
        response = owner_client.post(
            "/settings/audit-log/streams/",
            {"kind": "https", "name": "SIEM", "url": "https://10.1.2.3/x"},
        )
        assert response.status_code == 422
        assert "private, loopback or link-local" in response.content.decode()
        assert 'value="SIEM"' in response.content.decode()

    def test_status_lag_and_last_error_are_shown(self, owner_client, org, owner, https_stream):
        stream, _ = https_stream
        for n in range(3):  # written while the receiver was failing: not sent yet
            record(action=f"w{n}", organization=org)
        LogStream.objects.unscoped().filter(pk=stream.pk).update(
            failures=2, last_error="HTTP 503: not now", last_error_at=timezone.now()
        )
        page = owner_client.get(SETTINGS).content.decode()
        assert "Retrying" in page
        assert "HTTP 503: not now" in page
        assert "waiting, the oldest written" in page

    def test_send_test_event(self, owner_client, org, https_stream, streaming):
        stream, secret = https_stream
        response = owner_client.post(f"/settings/audit-log/streams/{stream.pk}/test", follow=True)
        assert "A test event reached" in response.content.decode()
        (body,) = streaming.events(secret)
        assert body["entries"][0]["type"] == "audit.test"
        entry = AuditEntry.objects.for_organization(org).get(action="log_stream.test_sent")
        assert entry.outcome == "success"

    def test_a_failed_test_event_says_why(self, owner_client, org, https_stream, streaming):
        stream, _ = https_stream
        streaming.answers = [500]
        response = owner_client.post(f"/settings/audit-log/streams/{stream.pk}/test", follow=True)
        assert "did not arrive: HTTP 500" in response.content.decode()

    def test_a_credential_that_no_longer_decrypts_is_said_not_a_500(
        self, owner_client, org, https_stream
    ):
        stream, _ = https_stream
        LogStream.objects.unscoped().filter(pk=stream.pk).update(secret_encrypted="garbage")
        response = owner_client.post(f"/settings/audit-log/streams/{stream.pk}/test", follow=True)
        assert response.status_code == 200
        assert "did not arrive: Internal error: InvalidToken" in response.content.decode()

    def test_switch_off_on_and_delete(self, owner_client, org, https_stream):
        stream, _ = https_stream
        base = f"/settings/audit-log/streams/{stream.pk}"
        owner_client.post(f"{base}/disable")
        assert not LogStream.objects.unscoped().get(pk=stream.pk).enabled
        owner_client.post(f"{base}/enable")
        assert LogStream.objects.unscoped().get(pk=stream.pk).enabled
        owner_client.post(f"{base}/delete")
        assert not LogStream.objects.unscoped().filter(pk=stream.pk).exists()
        actions = set(
            AuditEntry.objects.for_organization(org)
            .filter(action__startswith="log_stream.")
            .values_list("action", flat=True)
        )
        assert actions == {"log_stream.created", "log_stream.updated", "log_stream.deleted"}
        assert owner_client.post(f"{base}/explode").status_code == 404

    def test_owner_sets_retention_and_read_auditing(self, owner_client, org):
        response = owner_client.post(SETTINGS, {"retention_days": "90", "audit_reads": "on"})
        assert response.status_code == 302
        org.refresh_from_db()
        assert (org.audit_retention_days, org.audit_reads) == (90, True)
        entry = AuditEntry.objects.for_organization(org).get(action="audit_settings.changed")
        assert entry.changes == {"audit_retention_days": [365, 90], "audit_reads": [False, True]}

    @pytest.mark.parametrize("days", ["10", "4000", "ninety", ""])
    def test_a_bad_retention_period_is_refused_with_a_message(self, owner_client, org, days):
        response = owner_client.post(SETTINGS, {"retention_days": days})
        assert response.status_code == 422
        assert 'class="error"' in response.content.decode()
        org.refresh_from_db()
        assert org.audit_retention_days == 365

    def test_admins_and_viewers_read_but_cannot_change(
        self, client, org, admin_user, viewer, https_stream
    ):
        stream, _ = https_stream
        for user in (admin_user, viewer):
            client.force_login(user)
            page = client.get(SETTINGS)
            assert page.status_code == 200
            assert "Only owners can change these" in page.content.decode()
            assert client.post(SETTINGS, {"retention_days": "60"}).status_code == 403
            assert client.post("/settings/audit-log/streams/", {}).status_code == 403
            assert client.post(f"/settings/audit-log/streams/{stream.pk}/delete").status_code == 403
        denied = AuditEntry.objects.for_organization(org).filter(action="permission.denied")
        assert denied.count() == 6
        org.refresh_from_db()
        assert org.audit_retention_days == 365

    def test_another_organizations_stream_is_a_404(self, outsider, client, https_stream):
        stream, _ = https_stream
        client.force_login(outsider)
        for action in ("test", "disable", "delete"):
            assert (
                client.post(f"/settings/audit-log/streams/{stream.pk}/{action}").status_code == 404
            )
        assert LogStream.objects.unscoped().get(pk=stream.pk).enabled
