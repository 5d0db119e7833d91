"""The audit trail is tamper-evident: a hash chain per organization."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from audit.chain import broken_links, entry_hash
from audit.models import AuditEntry, Event, Execution, Workflow
from audit.services import record
from tests.conftest import requires_postgres
from tests.factories import make_customer


def tamper(sql: str, params: list) -> None:
    """Change rows behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


@pytest.mark.django_db
class TestChain:
    def test_each_entry_links_to_the_previous_one_of_its_organization(self, org, other_org):
        before = AuditEntry.objects.for_organization(org).order_by("-id").first()
        first = record(action="a", organization=org)
        record(action="x", organization=other_org)
        second = record(action="b", organization=org)
        assert first.prev_hash == before.hash  # organization.created started the chain
        assert second.prev_hash == first.hash
        assert second.hash == entry_hash(second, first.hash)
        assert list(broken_links(all_chains=True)) == []

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

    def test_verification_finds_an_edited_row(self, org, capsys):
        record(action="a", organization=org)
        victim = record(action="b", organization=org)
        record(action="c", organization=org)
        tamper("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["forged", victim.pk])

        with pytest.raises(CommandError, match="1 broken"):
            call_command("verify_audit_log")
        assert f"breaks at audit entry {victim.pk}" in capsys.readouterr().err

    def test_verification_finds_a_removed_row(self, org, capsys):
        record(action="a", organization=org)
        victim = record(action="b", organization=org)
        after = record(action="c", organization=org)
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])

        problems = list(broken_links(org.pk))
        assert problems == [(org.pk, after.pk, "its link to the previous entry does not match")]

    def test_an_intact_trail_verifies(self, org, owner, capsys):
        for n in range(5):
            record(action=f"a{n}", organization=org, actor=owner)
        call_command("verify_audit_log")
        assert "intact" in capsys.readouterr().out


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
    assert list(broken_links(org.pk)) == []


@pytest.mark.django_db
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
