"""`manage.py prune_activity`: remove executions and events older than a number of days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from audit.activity.models import Event, Execution


class Command(BaseCommand):
    help = (
        "Delete executions and events older than --older-than DAYS, in batches. Audit entries "
        "are never touched."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"] < 1:
            self.stderr.write("--older-than must be at least 1 day.")
            return
        cutoff = timezone.now() - timedelta(days=options["older_than"])
        for model, field in ((Execution, "started_at"), (Event, "occurred_at")):
            total = 0
            # Retention runs across every organization: an explicit, unscoped maintenance job.
            old = model.objects.unscoped().filter(**{f"{field}__lt": cutoff})
            while True:
                batch = list(old.values_list("pk", flat=True)[: options["batch_size"]])
                if not batch:
                    break
                deleted, _ = model.objects.unscoped().filter(pk__in=batch).delete()
                total += deleted
            self.stdout.write(f"Deleted {total} {model._meta.verbose_name_plural}.")
