"""Demo data for a fresh install: ``manage.py seed_demo`` (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import Membership, Organization, User
from customers.services import api_token_create, membership_add, organization_create

DEMO_PASSWORD = "tenantry-demo"
OWNER_EMAIL = "owner@acme.test"
VIEWER_EMAIL = "viewer@acme.test"
ORG_NAME = "Acme SaaS"


class Command(BaseCommand):
    help = "Create the Acme SaaS demo organization with an owner and a viewer login (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any user exists already."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("Users exist already: demo data left as it is.")
            return
        with transaction.atomic():
            owner = self._user(OWNER_EMAIL, "Olivia Owner", is_staff=True)
            viewer = self._user(VIEWER_EMAIL, "Victor Viewer")
            organization = Organization.objects.filter(name=ORG_NAME).first()
            if organization is None:
                organization = organization_create(name=ORG_NAME, owner=owner, slug="acme")
                membership_add(
                    organization=organization,
                    user=viewer,
                    role=Membership.Role.VIEWER,
                    actor=owner,
                )
                api_token_create(organization=organization, name="demo backend", actor=owner)
            second = Organization.objects.filter(name="Globex Cloud").first()
            if second is None:
                # A second organization, so the switcher and tenant isolation can be seen.
                organization_create(name="Globex Cloud", owner=owner, slug="globex")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Owner:  {OWNER_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Viewer: {VIEWER_EMAIL} / {DEMO_PASSWORD}")

    def _user(self, email: str, name: str, *, is_staff: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, name=name, is_staff=is_staff
            )
        return user
