"""`manage.py verify_audit_log`: walk every organization's hash chain and report breaks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.chain import broken_links


class Command(BaseCommand):
    help = "Check every organization's audit hash chain; report the first broken link of each."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", help="Only this organization's chain (its id).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["organization"]:
            problems = list(broken_links(options["organization"]))
        else:
            problems = list(broken_links(all_chains=True))
        for organization_id, entry_id, reason in problems:
            self.stderr.write(
                f"Organization {organization_id or '(none)'}: the chain breaks at audit entry "
                f"{entry_id}: {reason}."
            )
        if problems:
            raise CommandError(f"{len(problems)} broken audit chain(s).")
        self.stdout.write(self.style.SUCCESS("Every audit chain is intact."))
