"""The audit trail proves itself: a keyed hash chain per organization, checkpoints outside the
database, and a database that refuses changes (tampering is tried as a database administrator
would, through the table owner's maintenance path)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from audit.checkpoints import checkpoint_all, directory
from audit.maintenance import owner_cursor, owner_settings
from audit.models import AuditEntry, Event, Execution, Workflow
from audit.trail.chain import canonical, current_key_id, entry_hash, key_id
from audit.trail.services import record
from audit.verify import verify
from tests import figures
from tests.conftest import APP_ROLE, requires_postgres
from tests.factories import make_customer


def tamper(sql: str, params: list | None = None) -> None:
    """Change rows behind the application's back, as the table's owner could."""
    with owner_cursor() as cursor:
        cursor.execute(sql, params or [])


def rehash(org, *, key: bytes | None) -> None:
    """Recompute every later link, as an attacker would: with a guessed key, or with none."""
    previous = ""
    for entry in AuditEntry.objects.for_organization(org).order_by("id"):
        message = previous.encode() + b"\n" + canonical(entry)
        if key is None:
            entry.key_id, digest = "", hashlib.sha256(message).hexdigest()
        else:
            digest = hmac.new(key, message, hashlib.sha256).hexdigest()
        tamper(
            "UPDATE audit_auditentry SET prev_hash = %s, hash = %s, key_id = %s WHERE id = %s",
            [previous, digest, entry.key_id, entry.pk],
        )
        previous = digest


def problems(org=None) -> list[str]:
    return [str(finding) for finding in verify(org.pk if org else None).problems]


@pytest.fixture
def trail(org, owner):
    """Ten entries, then a checkpoint, as the worker writes every ten minutes."""
    entries = [record(action=f"thing.{n}", organization=org, actor=owner) for n in range(10)]
    assert checkpoint_all() >= 1
    return entries


@pytest.mark.django_db(transaction=True)  # tampering goes through the owner's connection
class TestKeyedChain:
    def test_each_entry_links_to_the_previous_one_of_its_organization(self, org, other_org):
        before = AuditEntry.objects.for_organization(org).order_by("-id").first()
        first = record(action="a", organization=org)
        record(action="x", organization=other_org)
        second = record(action="b", organization=org)
        assert first.prev_hash == before.hash  # organization.created started the chain
        assert second.prev_hash == first.hash
        assert second.hash == entry_hash(second, first.hash)
        assert verify().problems == []

    def test_entries_name_the_key_that_signed_them(self, org, settings):
        assert record(action="a", organization=org).key_id == key_id(settings.AUDIT_CHAIN_KEY)

    def test_the_hash_is_keyed(self, org):
        entry = record(action="a", organization=org)
        message = entry.prev_hash.encode() + b"\n" + canonical(entry)
        assert entry.hash != hashlib.sha256(message).hexdigest()

    def test_the_hash_survives_a_round_trip_through_the_database(self, org, owner):
        record(
            action="customer.updated",
            organization=org,
            actor=owner,
            changes={"b": [1, 2], "a": ["x", None]},
            message="ü ✓",
        )
        entry = AuditEntry.objects.for_organization(org).get(action="customer.updated")
        assert entry.hash == entry_hash(entry, entry.prev_hash)

    def test_a_rotated_key_still_verifies_old_entries(self, org, settings):
        old = record(action="old", organization=org)
        settings.AUDIT_CHAIN_OLD_KEYS = [settings.AUDIT_CHAIN_KEY]
        settings.AUDIT_CHAIN_KEY = "a-new-audit-chain-key-after-rotation-0123456789"
        new = record(action="new", organization=org)
        assert new.key_id != old.key_id
        assert problems(org) == []
        settings.AUDIT_CHAIN_OLD_KEYS = []  # the old key lost: its entries cannot be checked
        assert "signed with a key this deployment does not have" in problems(org)[0]

    def test_entries_from_before_keying_verify_as_an_unkeyed_prefix(self, org):
        rehash(org, key=None)  # as audit 0005 found them: plain SHA-256, no key id
        record(action="after", organization=org)
        report = verify(org.pk)
        assert report.problems == []
        assert "predate keyed hashing" in report.notes[0]

    def test_an_intact_trail_verifies(self, trail, capsys):
        call_command("verify_audit_log")
        assert "intact" in capsys.readouterr().out


# Each way a database administrator could tamper, and what verify must say. Run on both
# backends; the figures (tried / detected) print at the end of the run.
def _edit(org, entries):
    tamper("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entries[4].pk])
    return entries[4].pk, "content does not match"


def _delete_middle(org, entries):
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[4].pk])
    return entries[5].pk, "link to the previous entry"


def _delete_newest_three(org, entries):
    tamper("DELETE FROM audit_auditentry WHERE id >= %s", [entries[7].pk])
    return entries[6].pk, "entries after this one were removed"


def _delete_whole_chain(org, entries):
    tamper("DELETE FROM audit_auditentry WHERE id >= 0")
    return None, "whole chain is missing"


def _recompute_without_the_key(org, entries):
    tamper("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entries[4].pk])
    rehash(org, key=None)  # with audit.trail.chain's old, unkeyed formula
    return entries[-1].pk, "does not match the checkpoint"


def _recompute_with_a_guessed_key(org, entries):
    tamper("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entries[4].pk])
    rehash(org, key=b"guess")
    return None, "content does not match"


def _recompute_with_the_stolen_key(org, entries):
    # The key leaked too: every link holds again, and only the checkpoint can tell.
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[4].pk])
    rehash(org, key=settings.AUDIT_CHAIN_KEY.encode())
    return entries[-1].pk, "does not match the checkpoint"


def _forge_the_checkpoint(org, entries):
    path = directory() / f"{org.pk}.jsonl"
    line = json.loads(path.read_text().splitlines()[-1])
    path.write_text(json.dumps({**line, "count": 3}) + "\n")
    return None, "not signed by a known key"


TAMPERING = [
    _edit,
    _delete_middle,
    _delete_newest_three,
    _delete_whole_chain,
    _recompute_without_the_key,
    _recompute_with_a_guessed_key,
    _recompute_with_the_stolen_key,
    _forge_the_checkpoint,
]


@pytest.mark.django_db(transaction=True)  # tampering goes through the owner's connection
@pytest.mark.parametrize("attack", TAMPERING, ids=lambda attack: attack.__name__.strip("_"))
def test_tampering_is_detected_and_named(attack, org, trail, capsys):
    entry_id, expected = attack(org, trail)
    found = problems()
    figures.count(f"audit tampering kinds tried ({connection.vendor})")
    assert len(found) == 1, found
    assert expected in found[0]
    assert str(org.pk) in found[0]
    if entry_id:
        assert f"audit entry {entry_id}:" in found[0]
    figures.count(f"audit tampering kinds detected ({connection.vendor})")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("verify_audit_log")
    assert str(org.pk) in capsys.readouterr().err


@pytest.mark.django_db
class TestCheckpoints:
    def test_a_checkpoint_is_a_signed_line_naming_the_head(self, org, trail):
        line = json.loads((directory() / f"{org.pk}.jsonl").read_text().splitlines()[-1])
        assert line["last_id"] == trail[-1].pk
        assert line["hash"] == trail[-1].hash
        assert line["count"] == AuditEntry.objects.for_organization(org).count()
        assert line["signature"]
        assert line["key_id"] == current_key_id()

    def test_only_chains_that_moved_get_a_new_line(self, org, other_org, trail):
        path = directory() / f"{org.pk}.jsonl"
        assert checkpoint_all() == 0
        record(action="later", organization=org)
        assert checkpoint_all() == 1
        assert len(path.read_text().splitlines()) == 2

    def test_the_command_writes_them(self, org, capsys):
        call_command("audit_checkpoint")
        assert "checkpoint" in capsys.readouterr().out
        assert (directory() / f"{org.pk}.jsonl").exists()

    def test_the_worker_writes_them_every_ten_minutes(self, org):
        call_command("housekeeping", stdout=open(os.devnull, "w"))  # noqa: SIM115
        first = (directory() / f"{org.pk}.jsonl").read_text()
        record(action="later", organization=org)
        call_command("housekeeping", stdout=open(os.devnull, "w"))  # noqa: SIM115
        assert (directory() / f"{org.pk}.jsonl").read_text() == first  # not due yet


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'forged'",
        "DELETE FROM audit_auditentry",
        *(["TRUNCATE audit_auditentry"] if connection.vendor == "postgresql" else []),
    ],
)
def test_the_database_refuses_changes_behind_the_apps_back(org, statement):
    record(action="a", organization=org)
    refused = pytest.raises(DatabaseError, match=r"append-only|permission denied")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    figures.count(f"audit changes refused by the database ({connection.vendor})")
    assert AuditEntry.objects.for_organization(org).filter(action="a").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)  # tampering goes through the owner's connection
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'forged'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ],
)
def test_the_apps_role_is_refused_by_privileges_and_the_owner_by_triggers(org, statement):
    if not APP_ROLE:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL suite as the restricted app role")
        pytest.skip("needs DATABASE_OWNER_URL: the suite runs as the owner here")
    record(action="a", organization=org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
    by_privileges = pytest.raises(DatabaseError, match="permission denied")
    with by_privileges, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    # The owner holds the privileges; the trigger refuses.
    by_triggers = pytest.raises(psycopg.Error, match="append-only")
    with by_triggers, psycopg.connect(**owner_settings()) as owner:
        owner.execute(statement)
    assert AuditEntry.objects.for_organization(org).filter(action="a").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(org):
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(20):
                record(action=f"w{n}.{i}", organization=org)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entries = list(AuditEntry.objects.for_organization(org).order_by("id"))
    assert len([e for e in entries if e.action.startswith("w")]) == 120
    assert len({e.prev_hash for e in entries}) == len(entries)  # no two share a predecessor
    assert problems(org) == []


def test_prune_activity_deletes_old_rows_in_batches_and_never_audit_entries(org, owner, capsys):
    customer = make_customer(org, actor=owner)
    workflow = Workflow.objects.create(organization=org, name="Sync")
    old, new = timezone.now() - timedelta(days=40), timezone.now()
    Execution.objects.bulk_create(
        Execution(
            organization=org,
            customer=customer,
            workflow=workflow,
            triggered_by="manual",
            started_at=when,
        )
        for when in [old] * 7 + [new] * 2
    )
    Event.objects.bulk_create(
        Event(
            organization=org,
            customer=customer,
            type="manual",
            direction="incoming",
            name="e",
            occurred_at=when,
        )
        for when in [old] * 3 + [new]
    )
    audit_before = AuditEntry.objects.for_organization(org).count()

    call_command("prune_activity", "--older-than", "30", "--batch-size", "2")

    assert Execution.objects.for_organization(org).count() == 2
    assert Event.objects.for_organization(org).count() == 1
    assert AuditEntry.objects.for_organization(org).count() == audit_before
    assert "Deleted 7 executions" in capsys.readouterr().out
