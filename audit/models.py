"""The audit app's models, one module per package (trail, streams, activity); re-exported here
so Django finds them all, for the app's pages, admin and commands, and for tests."""

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
