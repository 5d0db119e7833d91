"""Checkpoints outside the database: one signed JSON line per organization and run, appended to
``AUDIT_CHECKPOINT_DIR/<organization>.jsonl``, naming the chain's head (last id, its hash, how
many entries). ``verify_audit_log`` then checks each chain still extends every checkpoint, so
cutting the tail, deleting a whole chain or rebuilding it is reported even by someone who could
recompute the hashes. Archives (audit.archive) append an ``archive`` line: the chain now starts
after it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from audit.trail.chain import current_key_id, sign
from audit.trail.models import AuditEntry
from customers.selectors import Organization

NO_ORGANIZATION = "none"  # the file of entries that belong to no organization


def directory() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def chain_name(organization_id: Any) -> str:
    return str(organization_id) if organization_id else NO_ORGANIZATION


def _payload(line: dict[str, Any]) -> bytes:
    body = {name: value for name, value in line.items() if name != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signed(line: dict[str, Any]) -> dict[str, Any]:
    line = {**line, "key_id": current_key_id()}
    return {**line, "signature": sign(line["key_id"], _payload(line))}


def signature_holds(line: dict[str, Any]) -> bool:
    try:
        return sign(line.get("key_id", ""), _payload(line)) == line.get("signature")
    except LookupError:
        return False


def append(organization_id: Any, line: dict[str, Any]) -> dict[str, Any]:
    """Append one signed line to the organization's file (and make it reach the disk)."""
    line = signed({"organization": chain_name(organization_id), **line})
    directory().mkdir(parents=True, exist_ok=True)
    with open(directory() / f"{chain_name(organization_id)}.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return line


@dataclass
class Checkpoints:
    """One organization's file, read: its head lines, its last archive line, its bad lines."""

    heads: list[dict[str, Any]]
    archive: dict[str, Any] | None
    unsigned: list[int]  # line numbers whose signature does not hold

    @property
    def archived(self) -> int:
        return self.archive["count"] if self.archive else 0


def read(name: str) -> Checkpoints:
    heads, archive, unsigned = [], None, []
    path = directory() / f"{name}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for number, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
        except ValueError:
            unsigned.append(number)
            continue
        if not isinstance(line, dict) or not signature_holds(line):
            unsigned.append(number)
        elif line.get("kind") == "archive":
            archive = line
        else:
            heads.append(line)
    return Checkpoints(heads=heads, archive=archive, unsigned=unsigned)


def names() -> list[str]:
    """Every organization that has a checkpoint file."""
    return sorted(path.stem for path in directory().glob("*.jsonl"))


def last_line(name: str) -> dict[str, Any] | None:
    """The file's last signed line, read from its end (files grow for years)."""
    path = directory() / f"{name}.jsonl"
    if not path.exists():
        return None
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        tail = f.read().decode("utf-8", "replace").splitlines()
    try:
        line = json.loads(tail[-1]) if tail else None
    except ValueError:
        return None
    return line if isinstance(line, dict) and signature_holds(line) else None


def archived_count(line: dict[str, Any] | None) -> int:
    """How many entries of the chain were archived, as of this line."""
    if line is None:
        return 0
    return line["count"] if line.get("kind") == "archive" else line.get("archived", 0)


def checkpoint(organization_id: Any) -> bool:
    """Append a checkpoint of one chain if its head moved since the last one."""
    name = chain_name(organization_id)
    entries = AuditEntry.objects.for_chain(organization_id)
    head = entries.order_by("-id").values("id", "hash").first()
    last = last_line(name)
    if head is None or (last and last.get("kind") == "head" and last["last_id"] == head["id"]):
        return False
    archived = archived_count(last)
    append(
        organization_id,
        {
            "kind": "head",
            "last_id": head["id"],
            "hash": head["hash"],
            "count": entries.filter(id__lte=head["id"]).count() + archived,
            "archived": archived,
            "at": timezone.now().isoformat(),
        },
    )
    return True


def checkpoint_all() -> int:
    """A checkpoint of every chain whose head moved since its last one; how many."""
    organizations = [None, *Organization.objects.values_list("pk", flat=True)]
    written = sum(checkpoint(organization_id) for organization_id in organizations)
    stamp(directory()).touch()
    return written


def stamp(folder: Path) -> Path:
    """The file whose age says when the worker last did a periodic job in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder / ".last-run"


def due(folder: Path, every: timedelta) -> bool:
    """Whether the worker's last run of the job that writes to ``folder`` is ``every`` old."""
    try:
        age = time.time() - stamp(folder).stat().st_mtime
    except FileNotFoundError:
        return True
    return age >= every.total_seconds()


def checkpoints_due() -> int:
    """The worker's pass: every ten minutes, a checkpoint of each chain that moved."""
    return checkpoint_all() if due(directory(), timedelta(minutes=10)) else 0
