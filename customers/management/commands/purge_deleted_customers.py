"""`manage.py purge_deleted_customers`: remove customers past their restore window."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from customers.records.services.lifecycle import customers_purge_deleted


class Command(BaseCommand):
    help = (
        "Remove customers deleted more than CUSTOMER_RETENTION_DAYS ago, with their users, "
        "invitations, connections and activity. Their audit entries stay. Run it daily."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        purged = customers_purge_deleted()
        for label in purged:
            self.stdout.write(f"  purged {label}")
        self.stdout.write(
            f"Purged {len(purged)} customer(s) deleted more than "
            f"{settings.CUSTOMER_RETENTION_DAYS} days ago."
        )
