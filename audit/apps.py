"""The audit app: the audit trail and the activity of customers."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit and activity"

    def ready(self) -> None:
        from audit import checks, signals  # noqa: F401
        from audit.streams import delivery  # noqa: F401 (wakes the worker for new entries)
        from audit.trail.hooks import check_registered

        # The customers app registers its hooks in its own ready(), which runs first
        # (INSTALLED_APPS lists it before audit): all are there by now.
        check_registered()
