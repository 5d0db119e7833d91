"""The audit app: the audit trail and the activity of customers."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit and activity"

    def ready(self) -> None:
        from audit import checks, signals  # noqa: F401
        from audit.streams import delivery  # noqa: F401 (wakes the worker for new entries)
