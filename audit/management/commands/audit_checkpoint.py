"""`manage.py audit_checkpoint`: append a signed checkpoint of every chain whose head moved to
AUDIT_CHECKPOINT_DIR (the worker does it too, every ten minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_all, directory


class Command(BaseCommand):
    help = "Write a signed checkpoint of each audit chain outside the database."

    def handle(self, *args: Any, **options: Any) -> None:
        written = checkpoint_all()
        self.stdout.write(f"Wrote {written} checkpoint(s) to {directory()}.")
