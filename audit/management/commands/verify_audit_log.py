"""`manage.py verify_audit_log`: walk every organization's keyed hash chain against its
checkpoints and report what is wrong; `--archive FILE` verifies an archive offline."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.archive import verify_archive
from audit.verify import verify


class Command(BaseCommand):
    help = "Check every organization's audit chain and checkpoints, or one archive file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", help="Only this organization's chain (its id).")
        parser.add_argument("--archive", help="Verify this archive file (JSON Lines) instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["archive"]:
            self.archive(options["archive"])
            return
        report = verify(options["organization"])
        for note in report.notes:
            self.stdout.write(note)
        for finding in report.problems:
            self.stderr.write(str(finding))
        if report.problems:
            raise CommandError(f"{len(report.problems)} problem(s) in the audit trail.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Every audit chain is intact: {report.chains} chain(s), "
                f"{report.entries} entries, every checkpoint extended."
            )
        )

    def archive(self, path: str) -> None:
        problems, summary = verify_archive(path)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"The archive {path} does not verify.")
        self.stdout.write(self.style.SUCCESS(f"The archive verifies: {summary}."))
