"""manage.py usage_digest: send this week's usage digest of every organization (or one) now,
once per week; the background worker runs the same every week by itself."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.alerts.services.notify import usage_digest_send
from customers.selectors import Organization


class Command(BaseCommand):
    help = "Email each organization's owners and admins the customers closest to their limits."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", help="Only this organization (its slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("name")
        if options["organization"]:
            organizations = organizations.filter(slug=options["organization"])
            if not organizations.exists():
                raise CommandError(f"No organization with the slug {options['organization']}.")
        for organization in organizations:
            sent = usage_digest_send(organization)
            state = f"sent to {sent}" if sent else "already sent this week (or nobody to send to)"
            self.stdout.write(f"{organization.name}: {state}")
