"""Retention: each organization keeps its audit entries for its retention period; older ones are
exported as a JSON Lines archive with a signed checkpoint, the export is verified, and only then
is the segment removed, through the audited maintenance path. The remaining chain starts from
the archive's checkpoint, and ``verify_audit_log --archive FILE`` checks an archive offline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import checkpoints, maintenance
from audit.trail.actions import Action
from audit.trail.chain import UnknownKey, canonical, entry_hash
from audit.trail.models import AuditEntry
from audit.trail.services import record
from customers.selectors import Organization

SEGMENT, ENTRY, CHECKPOINT = "segment", "entry", "archive"
SEGMENT_SIZE = 20_000  # entries per archive file, so an archive run's memory stays bounded


def directory() -> Path:
    return Path(settings.AUDIT_ARCHIVE_DIR)


def _line(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the archive keeps it: exactly what its hash covers, and its links."""
    return {
        "kind": ENTRY,
        "id": entry.pk,
        **json.loads(canonical(entry)),
        "key_id": entry.key_id,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _export(path: Path, segment: list[AuditEntry], mark: dict[str, Any]) -> None:
    header = {
        "kind": SEGMENT,
        "organization": mark["organization"],
        "from_id": segment[0].pk,
        "through_id": segment[-1].pk,
        "entries": len(segment),
        "starts_after": segment[0].prev_hash,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # A file of this name can only hold these same entries (a run that stopped before the
    # removal): writing it again is safe.
    with open(path, "w", encoding="utf-8") as f:
        for line in (header, *map(_line, segment), mark):
            f.write(json.dumps(line, sort_keys=True) + "\n")


def _read(path: str | Path) -> list[dict[str, Any]]:
    """The archive's lines; ValueError says why it cannot be one."""
    try:
        lines = [json.loads(text) for text in Path(path).read_text("utf-8").splitlines()]
    except OSError as error:
        raise ValueError(f"The archive cannot be read: {error}") from error
    kinds = [line.get("kind") if isinstance(line, dict) else None for line in lines]
    if len(lines) < 3 or kinds[0] != SEGMENT or kinds[-1] != CHECKPOINT:
        raise ValueError("The archive is incomplete: it needs its header, entries and checkpoint.")
    return lines


def _chain_end(header: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """The last entry's hash, once every link and hash held; ValueError names the first that
    does not."""
    previous = header["starts_after"]
    for line in entries:
        entry = SimpleNamespace(**line)
        try:
            expected = entry_hash(entry, previous)
        except UnknownKey as error:
            raise ValueError(f"Entry {entry.id} was signed with an unknown key.") from error
        if entry.prev_hash != previous or entry.hash != expected:
            raise ValueError(f"Entry {entry.id} does not match its hash or its link.")
        previous = entry.hash
    return previous


def verify_archive(path: str | Path) -> tuple[list[str], str]:
    """(problems, a one-line summary) for one archive file, without the database."""
    try:
        lines = _read(path)
        header, entries, mark = lines[0], lines[1:-1], lines[-1]
        end = _chain_end(header, entries)
    except ValueError as error:
        return [str(error)], ""
    problems = []
    if not checkpoints.signature_holds(mark):
        problems.append("The archive's checkpoint is not signed by a known key.")
    if mark.get("hash") != end or mark.get("through_id") != entries[-1]["id"]:
        problems.append("The archive's checkpoint does not name its last entry.")
    if len(entries) != header["entries"]:
        problems.append(f"The header says {header['entries']} entries; {len(entries)} are here.")
    summary = (
        f"organization {header['organization']}, {len(entries)} entries "
        f"({header['from_id']}–{header['through_id']})"
    )
    return problems, summary


def archive_organization(organization: Organization, now: datetime) -> int:
    """Archive and remove the organization's entries older than its retention; how many."""
    archived = 0
    while segment := _archive_segment(organization, now):
        archived += segment
    return archived


def _archive_segment(organization: Organization, now: datetime) -> int:
    """The next segment of expired entries (at most SEGMENT_SIZE) archived and removed."""
    cutoff = now - timedelta(days=organization.audit_retention_days)
    entries = AuditEntry.objects.for_organization(organization).order_by("id")
    # Only a prefix of the chain: up to the first entry that is still kept.
    first_kept = entries.filter(created_at__gte=cutoff).values_list("id", flat=True).first()
    if first_kept is not None:
        entries = entries.filter(id__lt=first_kept)
    segment = list(entries.filter(created_at__lt=cutoff)[:SEGMENT_SIZE])
    if not segment:
        return 0
    name = checkpoints.chain_name(organization.pk)
    archived_before = checkpoints.read(name).archived
    mark = checkpoints.signed(
        {
            "organization": name,
            "kind": CHECKPOINT,
            "through_id": segment[-1].pk,
            "hash": segment[-1].hash,
            "count": archived_before + len(segment),
            "at": now.isoformat(),
        }
    )
    path = directory() / name / f"{segment[0].pk:012d}-{segment[-1].pk:012d}.jsonl"
    _export(path, segment, mark)
    problems, _ = verify_archive(path)
    if problems:  # nothing is removed unless the export proves itself
        raise RuntimeError(f"The archive {path} did not verify: {problems[0]}")
    checkpoints.append(organization.pk, {k: v for k, v in mark.items() if k != "signature"})
    # The owner role removes them on its own connection (audit.maintenance); then the app
    # records that it did. Were that entry lost, the archive line above still says so.
    removed = maintenance.remove_through(organization.pk, segment[-1].pk)
    with transaction.atomic():
        record(
            action=Action.AUDIT_ARCHIVED,
            organization=organization,
            resource=organization,
            changes={"entries": [None, removed], "through": [None, segment[-1].pk]},
            message=f"{removed} entries older than {organization.audit_retention_days} days "
            f"archived to {path.name}",
        )
    return removed


def archive_expired(now: datetime | None = None) -> int:
    """Every organization's expired entries; how many were archived."""
    now = now or timezone.now()
    archived = sum(
        archive_organization(organization, now) for organization in Organization.objects.all()
    )
    checkpoints.stamp(directory()).touch()
    return archived


def archives_due() -> int:
    """The worker's pass: once an hour, archive what every retention period let go."""
    return archive_expired() if checkpoints.due(directory(), timedelta(hours=1)) else 0
