"""``manage.py housekeeping``: run the worker's recurring job now (expired invitations, webhook
deliveries, health scores, digests, log streams, audit checkpoints and archives, domain
checks); ``--enqueue`` hands it to the background worker instead (make run does, so the
worker repeats it every minute)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--enqueue", action="store_true", help="Queue it for the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        # The job wires every app's work, so it lives in config; an app names it by setting.
        housekeeping = import_string(settings.HOUSEKEEPING_TASK)
        if options["enqueue"]:
            housekeeping.enqueue()
            self.stdout.write("Housekeeping queued for the worker.")
            return
        done = housekeeping.call()
        self.stdout.write(
            f"{done['invitations_expired']} expired invitations announced, "
            f"{done['deliveries_attempted']} webhook deliveries attempted."
        )
