"""``manage.py housekeeping``: announce expired invitations and send due webhook deliveries
now; ``--enqueue`` hands the job to the background worker instead (make run does, so the
worker repeats it every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from customers.tasks import housekeeping


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--enqueue", action="store_true", help="Queue it for the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            housekeeping.enqueue()
            self.stdout.write("Housekeeping queued for the worker.")
            return
        done = housekeeping.call()
        self.stdout.write(
            f"{done['invitations_expired']} expired invitations announced, "
            f"{done['deliveries_attempted']} webhook deliveries attempted."
        )
