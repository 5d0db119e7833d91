"""Retention: entries older than the organization's period are archived (JSON Lines with a
signed checkpoint), verified, and only then removed through the audited maintenance path."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.archive import archive_expired, directory, verify_archive
from audit.checkpoints import checkpoint_all
from audit.maintenance import owner_cursor
from audit.models import AuditEntry
from audit.trail.services import record
from audit.verify import verify
from customers.services import organization_create

# Committed rows: the removal goes through the owner role's own connection (audit.maintenance).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(db):
    """An organization whose first entries are 400 days old, then three recent ones; a
    checkpoint of it all."""
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        org = organization_create(name="Old Corp", slug="old-corp")
        old = [record(action=f"old.{n}", organization=org) for n in range(5)]
    recent = [record(action=f"new.{n}", organization=org) for n in range(3)]
    checkpoint_all()
    return org, old, recent


def archives(org) -> list:
    return sorted((directory() / str(org.pk)).glob("*.jsonl"))


def test_expired_entries_are_archived_then_removed_and_the_removal_is_audited(history):
    org, old, _recent = history
    expired = AuditEntry.objects.for_organization(org).filter(pk__lte=old[-1].pk).count()

    assert archive_expired() == expired

    remaining = AuditEntry.objects.for_organization(org)
    assert not remaining.filter(pk__lte=old[-1].pk).exists()
    assert remaining.filter(action__startswith="new.").count() == 3
    entry = remaining.get(action="audit.archived")
    assert entry.changes["entries"] == [None, expired]
    (path,) = archives(org)
    assert verify_archive(path)[0] == []
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    assert [line["kind"] for line in (lines[0], lines[-1])] == ["segment", "archive"]
    assert [line["action"] for line in lines[1:-1]][-5:] == [e.action for e in old]


def test_the_remaining_chain_still_verifies_from_the_archive_checkpoint(history):
    org = history[0]
    archive_expired()
    record(action="after", organization=org)
    checkpoint_all()
    assert verify(org.pk).problems == []
    call_command("verify_audit_log")


def test_removing_more_than_the_archive_took_is_still_detected(history):
    org, _old, recent = history
    archive_expired()
    with owner_cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [recent[0].pk])
    assert "link to the previous entry" in str(verify(org.pk).problems[0])


def test_an_archive_verifies_offline_and_a_changed_one_does_not(history, capsys):
    org = history[0]
    archive_expired()
    (path,) = archives(org)
    call_command("verify_audit_log", "--archive", str(path))
    assert "The archive verifies" in capsys.readouterr().out

    lines = path.read_text().splitlines()
    entry = json.loads(lines[2])
    lines[2] = json.dumps({**entry, "action": "forged"})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_audit_log", "--archive", str(path))
    assert f"Entry {entry['id']} does not match" in capsys.readouterr().err


def test_nothing_is_archived_within_the_retention_period(history):
    org = history[0]
    org.audit_retention_days = 3650
    org.save()
    assert archive_expired() == 0
    assert archives(org) == []


def test_a_segment_is_only_ever_a_prefix_of_the_chain(history):
    org, _old, _recent = history
    # An entry stamped in the past but written after recent ones (a clock step back) waits
    # for everything before it to expire: the archive never leaves a hole in the chain.
    with time_machine.travel(timezone.now() - timedelta(days=500), tick=False):
        late = record(action="late", organization=org)
    archive_expired()
    assert AuditEntry.objects.for_organization(org).filter(pk=late.pk).exists()
    assert verify(org.pk).problems == []


def test_the_command_and_the_worker_archive(history, capsys):
    org = history[0]
    call_command("audit_archive")
    assert "Archived" in capsys.readouterr().out
    assert len(archives(org)) == 1
    record(action="newer", organization=org)
    call_command("housekeeping", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert len(archives(org)) == 1  # nothing more has expired
