"""The audit app's models, one module per package; re-exported here, so Django finds them all and
``from audit.models import AuditEntry`` keeps working outside the app."""

from audit.activity.models import Event, Execution, Workflow
from audit.streams.models import LogStream
from audit.trail.models import AuditEntry, AuditEntryManager, AuditEntryQuerySet

__all__ = [
    "AuditEntry",
    "AuditEntryManager",
    "AuditEntryQuerySet",
    "Event",
    "Execution",
    "LogStream",
    "Workflow",
]
