"""Verifying the audit trail: each chain's links and keyed hashes, and that each chain still
extends every checkpoint written outside the database (audit.checkpoints). What is wrong is
said with the organization and the first missing or changed entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit import checkpoints
from audit.trail.chain import UnknownKey, entry_hash
from audit.trail.models import AuditEntry


@dataclass
class Finding:
    chain: str  # the organization's id, or "none"
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"audit entry {self.entry_id}" if self.entry_id else "its checkpoints"
        return f"Organization {self.chain}: {where}: {self.problem}."


@dataclass
class Report:
    problems: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chains: int = 0
    entries: int = 0


def _entries(name: str) -> Any:
    organization_id = None if name == checkpoints.NO_ORGANIZATION else name
    return AuditEntry.objects.for_chain(organization_id).order_by("id")


class _Walk:
    """One chain, entry by entry, against its checkpoints."""

    def __init__(self, name: str, report: Report) -> None:
        self.name, self.report = name, report
        marks = checkpoints.read(name)
        for number in marks.unsigned:
            self.fail(None, f"checkpoint line {number} is not signed by a known key")
        self.boundary = marks.archive
        self.through = self.boundary["through_id"] if self.boundary else 0
        self.previous = self.boundary["hash"] if self.boundary else ""
        self.counted = marks.archived
        self.pending = sorted(
            (mark for mark in marks.heads if mark["last_id"] > self.through),
            key=lambda mark: mark["last_id"],
        )
        self.keyed, self.unkeyed, self.last = False, 0, None

    def fail(self, entry_id: int | None, problem: str) -> None:
        self.report.problems.append(Finding(self.name, entry_id, problem))

    def link(self, entry: AuditEntry) -> str:
        """What is wrong with this entry, or ""."""
        if entry.prev_hash != self.previous:
            return "its link to the previous entry does not match (an entry was removed or changed)"
        if not entry.key_id and self.keyed:
            return "it is not keyed but follows keyed entries"
        try:
            if entry.hash != entry_hash(entry, self.previous):
                return "its content does not match its hash"
        except UnknownKey:
            return f"it was signed with a key this deployment does not have ({entry.key_id})"
        return ""

    def against_checkpoints(self, entry: AuditEntry) -> str:
        while self.pending and self.pending[0]["last_id"] <= entry.pk:
            mark = self.pending.pop(0)
            when = mark["at"]
            if mark["last_id"] < entry.pk:
                return (
                    f"entry {mark['last_id']}, the head at the checkpoint of {when}, is missing "
                    "and the chain was rebuilt over it"
                )
            if mark["hash"] != entry.hash:
                return f"it does not match the checkpoint of {when} (the chain was rebuilt)"
            if mark["count"] != self.counted:
                return (
                    f"the checkpoint of {when} counted {mark['count']} entries up to here and "
                    f"{self.counted} are left (entries were removed and the chain rebuilt)"
                )
        return ""

    def run(self) -> None:
        for entry in _entries(self.name).filter(id__gt=self.through).iterator(chunk_size=2000):
            problem = self.link(entry)
            if not problem:
                self.counted += 1
                problem = self.against_checkpoints(entry)
            if problem:
                self.fail(entry.pk, problem)
                return
            self.keyed = self.keyed or bool(entry.key_id)
            self.unkeyed += not entry.key_id
            self.previous, self.last = entry.hash, entry.pk
            self.report.entries += 1
        self.finish()

    def finish(self) -> None:
        if self.pending:
            mark = self.pending[-1]
            if self.last is None:
                self.fail(
                    None,
                    f"its whole chain is missing: the checkpoint of {mark['at']} recorded "
                    f"{mark['count']} entries, up to entry {mark['last_id']}",
                )
            else:
                self.fail(
                    self.last,
                    f"the chain ends here, but the checkpoint of {mark['at']} recorded entries "
                    f"up to {mark['last_id']} ({mark['count']} in all): the entries after this "
                    "one were removed",
                )
        if self.unkeyed:
            self.report.notes.append(
                f"Organization {self.name}: its first {self.unkeyed} entries predate keyed "
                "hashing; they are checked with plain SHA-256."
            )


def verify(organization_id: Any = None) -> Report:
    """Check one organization's chain, or every chain the database or the checkpoints know."""
    if organization_id:
        names = [checkpoints.chain_name(organization_id)]
    else:
        in_database = {
            checkpoints.chain_name(org)
            for org in AuditEntry.objects.for_worker()
            .order_by()
            .values_list("organization_id", flat=True)
            .distinct()
        }
        names = sorted(in_database | set(checkpoints.names()))
    report = Report()
    for name in names:
        report.chains += 1
        _Walk(name, report).run()
    return report
