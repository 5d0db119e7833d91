"""`manage.py audit_archive`: export, verify and then remove each organization's audit entries
older than its retention period (the worker does it too, once an hour)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.archive import archive_expired, directory


class Command(BaseCommand):
    help = "Archive audit entries older than each organization's retention period."

    def handle(self, *args: Any, **options: Any) -> None:
        archived = archive_expired()
        self.stdout.write(f"Archived {archived} audit entries to {directory()}.")
