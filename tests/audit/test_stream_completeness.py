"""A log stream's receiver can prove it has everything: each event carries its organization's
sequence number and the hash of the entry before it; a stream that replaces a deleted one can
start where that one stopped (or at a chosen time), so deleting and re-creating loses nothing."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEntry
from audit.streams.delivery import deliver_now, stream_file
from audit.streams.services import NOTHING_TO_RESUME, stream_create, stream_delete
from audit.trail.services import record
from customers.platform.errors import Invalid

pytestmark = pytest.mark.django_db


@pytest.fixture
def files(settings, tmp_path):
    settings.AUDIT_STREAM_FILE_DIR = tmp_path / "streams"


def _events(stream) -> list[dict]:
    path = stream_file(stream)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _file_stream(org, owner, name, **start):
    return stream_create(
        organization=org, actor=owner, kind="file", name=name, file_name=f"{name}.jsonl", **start
    )[0]


def test_each_event_links_to_the_one_before_and_numbers_have_no_gap(
    org, owner, other_org, outsider, files
):
    stream = _file_stream(org, owner, "siem")
    for n in range(5):
        record(action=f"a.{n}", organization=org)
        record(action=f"b.{n}", organization=other_org)  # ids interleave; numbers do not
    deliver_now()
    events = _events(stream)
    assert [e["action"] for e in events][-5:] == [f"a.{n}" for n in range(5)]
    sequences = [e["sequence"] for e in events]
    assert sequences == list(range(sequences[0], sequences[0] + len(events)))
    for before, after in itertools.pairwise(events):
        assert after["prev_hash"] == before["hash"]
    theirs = AuditEntry.objects.for_organization(other_org).order_by("id")
    assert [e.sequence for e in theirs] == list(range(1, theirs.count() + 1))


def test_a_replacement_stream_resumes_where_the_deleted_one_stopped(org, owner, files):
    old = _file_stream(org, owner, "old")
    record(action="before", organization=org)
    deliver_now()
    stream_delete(stream=old, actor=owner)
    for n in range(3):  # while no stream runs
        record(action=f"gap.{n}", organization=org)
    new = _file_stream(org, owner, "new", start="resume")
    deliver_now()

    received = _events(old) + _events(new)
    sequences = [e["sequence"] for e in received]
    assert sequences == list(range(sequences[0], sequences[-1] + 1))  # nothing lost, no repeat
    assert {"gap.0", "gap.1", "gap.2", "log_stream.deleted"} <= {e["action"] for e in received}
    for before, after in itertools.pairwise(received):
        assert after["prev_hash"] == before["hash"]


def test_a_stream_can_start_from_a_time(org, owner, files):
    start = timezone.now()
    with time_machine.travel(start - timedelta(hours=2)):
        record(action="too.early", organization=org)
    with time_machine.travel(start + timedelta(minutes=1)):
        record(action="wanted", organization=org)
    with time_machine.travel(start + timedelta(minutes=2)):
        stream = _file_stream(org, owner, "since", start="since", since=start)
        deliver_now()
    actions = [e["action"] for e in _events(stream)]
    assert actions[0] == "wanted"
    assert "too.early" not in actions


def test_resume_without_a_deleted_stream_says_so(org, owner, files):
    with pytest.raises(Invalid, match=NOTHING_TO_RESUME):
        _file_stream(org, owner, "x", start="resume")


def test_the_console_offers_the_start(owner_client, org, files):
    page = owner_client.get("/settings/audit-log/settings/").content.decode()
    assert "Where the last deleted stream stopped" in page
    refused = owner_client.post(
        "/settings/audit-log/streams/",
        {"kind": "file", "name": "F", "file_name": "f.jsonl", "start": "resume"},
    )
    assert refused.status_code == 422
    assert "was deleted yet" in refused.content.decode()
