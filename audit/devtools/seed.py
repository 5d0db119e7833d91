"""Demo data for a fresh install: ``manage.py seed_demo`` (idempotent).

Creates "Acme SaaS" with an owner and a viewer login, about 40 customers across every status
and plan with users, invitations and connected accounts, workflows and a month of activity.
Large volumes for benchmarks come through flags and bulk inserts.
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.activity.ingestion import events_ingest
from audit.activity.models import Event, Execution, Workflow
from audit.devtools.demo import counted, customer_values, event_values, execution_values
from audit.streams.models import LogStream
from audit.streams.services import audit_settings_set, stream_create
from billing.selectors import plans_of
from billing.services import consume, override_set
from customers.health.services import connection_activity_record, customers_health_refresh
from customers.identity.domains.services import domain_add
from customers.identity.services.organizations import (
    api_token_create,
    membership_add,
    organization_create,
)
from customers.people.services.invitations import invite_accept
from customers.records.services.lifecycle import customer_delete, customer_suspend
from customers.records.services.records import customer_create
from customers.selectors import (
    Connection,
    Customer,
    CustomerStatus,
    CustomerUser,
    Invitation,
    Membership,
    Organization,
    User,
)

DEMO_PASSWORD = "tenantry-demo"
OWNER_EMAIL = "owner@acme.test"
VIEWER_EMAIL = "viewer@acme.test"
SUPPORT_EMAIL = "support@acme.test"
ORG_NAME = "Acme SaaS"

COMPANIES = [
    "John-Acme",
    "Katana Robotics",
    "Widget Inc",
    "Northwind Traders",
    "Globex Retail",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Foods",
    "Hooli Cloud",
    "Pied Piper",
    "Vandelay Imports",
    "Soylent Labs",
    "Tyrell Systems",
    "Cyberdyne Ops",
    "Wonka Confections",
    "Gringotts Finance",
    "Oscorp Research",
    "Aperture Science",
    "Black Mesa Energy",
    "Monarch Studios",
    "Dunder Paper",
    "Prestige Worldwide",
    "Bluth Homes",
    "Los Pollos Hermanos",
    "Sterling Cooper",
    "Massive Dynamic",
    "Wayfarer Travel",
    "Nakatomi Trading",
    "Virtucon Media",
    "Acme Anvils",
    "Duff Beverages",
    "Kramerica",
    "Vehement Capital",
    "Spacely Sprockets",
    "Cogswell Cogs",
    "Rekall Memories",
    "Yoyodyne Propulsion",
    "Ollivanders Wands",
    "Zorg Industries",
]
APPS = [
    ("Shopify", "{slug}.myshopify.com", "read_orders,write_products"),
    ("Slack", "{slug}.slack.com", "chat:write,channels:read"),
    ("HubSpot", "portal {n}", "crm.objects.contacts.read"),
    ("Salesforce", "{slug}.my.salesforce.com", "api,refresh_token"),
    ("Google Drive", "drive@{slug}.example", "drive.readonly"),
    ("Zendesk", "{slug}.zendesk.com", "read,write"),
]
WORKFLOWS = [
    "Sync orders",
    "Enrich contacts",
    "Daily digest",
    "Invoice export",
    "Ticket triage",
    "Inventory refresh",
]


class Command(BaseCommand):
    help = "Create the Acme SaaS demo organization and its customers (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any user exists already."
        )
        parser.add_argument(
            "--customers", type=int, default=0, help="Also bulk-insert this many customers."
        )
        parser.add_argument(
            "--executions", type=int, default=3000, help="Executions over the last 30 days."
        )
        parser.add_argument(
            "--events", type=int, default=3000, help="Events over the last 30 days."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("Users exist already: demo data left as it is.")
            return
        self.random = random.Random(42)
        # Demo invitations are recorded but not emailed.
        backend, settings.EMAIL_BACKEND = (
            settings.EMAIL_BACKEND,
            "django.core.mail.backends.locmem.EmailBackend",
        )
        try:
            owner = self._user(OWNER_EMAIL, "Olivia Owner")
            viewer = self._user(VIEWER_EMAIL, "Victor Viewer")
            support = self._user(SUPPORT_EMAIL, "Sam Support", is_staff=True)
            # Support staff work in /admin/ through the "Support" group (customers 0003).
            support.groups.add(Group.objects.get(name="Support"))
            organization = Organization.objects.filter(name=ORG_NAME).first()
            if organization is None:
                with transaction.atomic():
                    organization = organization_create(name=ORG_NAME, owner=owner, slug="acme")
                    membership_add(
                        organization=organization,
                        user=viewer,
                        role=Membership.Role.VIEWER,
                        actor=owner,
                    )
                    api_token_create(organization=organization, name="demo backend", actor=owner)
                    self._customers(organization, owner)
                self._activity(organization, options["executions"], options["events"])
                self._health(organization)
                self._audit_trail(organization, owner)
            if not Organization.objects.filter(name="Globex Cloud").exists():
                # A second organization, so the switcher and tenant isolation can be seen.
                globex = organization_create(name="Globex Cloud", owner=owner, slug="globex")
                customer_create(
                    organization=globex,
                    actor=owner,
                    name="Globex Partner",
                    plan=plans_of(globex).get(name="Pro"),
                    admin_email="partner@globex.test",
                )
            if options["customers"]:
                self._bulk_customers(organization, options["customers"])
        finally:
            settings.EMAIL_BACKEND = backend
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Owner:  {OWNER_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Viewer: {VIEWER_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Support (/admin/): {SUPPORT_EMAIL} / {DEMO_PASSWORD}")

    def _audit_trail(self, organization: Organization, owner: User) -> None:
        """Read auditing on (a customer's page lists who viewed it) and a log stream to a
        JSON Lines file, which make run's worker fills: var/audit-streams/<org>/audit.jsonl."""
        audit_settings_set(
            organization=organization, actor=owner, retention_days=365, audit_reads=True
        )
        stream_create(
            organization=organization,
            actor=owner,
            kind=LogStream.Kind.FILE,
            name="Local SIEM file",
            file_name="audit.jsonl",
        )

    def _user(self, email: str, name: str, *, is_staff: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, name=name, is_staff=is_staff
            )
        return user

    def _customers(self, organization: Organization, owner: User) -> None:
        plans = list(plans_of(organization))
        now = timezone.now()
        for n, name in enumerate(COMPANIES):
            slug = slugify(name)
            admin_email = f"admin@{slug}.test" if n % 9 != 8 else ""
            customer = customer_create(
                organization=organization,
                actor=owner,
                name=name,
                slug=slug,
                external_id=f"customer_{12345 + n}" if n % 3 else "",
                plan=plans[n % len(plans)],
                admin_email=admin_email,
            )
            # About two thirds accepted their invitation (Active); some invitations expired.
            if admin_email and n % 3 != 0:
                self._admin_accepts(customer, organization, n, now)
            elif admin_email and n % 6 == 3:
                Invitation.objects.for_customer(customer).update(
                    expires_at=now - timedelta(days=2), sent_at=now - timedelta(days=9)
                )
            customer.refresh_from_db()
            if n % 10 == 4:
                customer_suspend(customer=customer, actor=owner)
            elif n % 13 == 7:
                customer_delete(customer=customer, actor=owner)

    def _admin_accepts(
        self, customer: Customer, organization: Organization, n: int, now: Any
    ) -> None:
        """The admin accepts; some customers also have an engineer and a billing user."""
        admin = self._user(customer.admin_email, f"{customer.name} Admin")
        invite_accept(invitation=customer.admin_invitation, actor=admin)
        # Pending: the demo's domains have no DNS to prove them.
        domain_add(customer=customer, domain=f"{customer.slug}.test", actor=admin)
        for role in ("engineer", "billing")[: n % 3]:
            member = self._user(f"{role}@{customer.slug}.test", f"{customer.name} {role.title()}")
            CustomerUser.objects.create(
                organization=organization,
                customer=customer,
                user=member,
                role=role,
                two_factor_enabled=bool(n % 2),
            )
        self._connections(customer, n, now)

    def _connections(self, customer: Customer, n: int, now: Any) -> None:
        statuses = ["connected", "connected", "connected", "expired", "error", "revoked"]
        for k in range(n % 4):
            app, label, scopes = APPS[(n + k) % len(APPS)]
            status = statuses[(n + k) % len(statuses)]
            Connection.objects.create(
                organization_id=customer.organization_id,
                customer=customer,
                app=app,
                account_label=label.format(slug=customer.slug, n=1000 + n),
                scopes=scopes,
                status=status,
                credential_ref=f"vault://connections/{uuid.uuid4()}",
                connected_by=customer.admin_email,
                connected_at=now - timedelta(days=20 + k),
                last_used_at=now - timedelta(hours=3 * (k + 1)) if status == "connected" else None,
                revoked_at=now - timedelta(days=1) if status == "revoked" else None,
            )

    def _activity(self, organization: Organization, executions: int, events: int) -> None:
        workflows = [
            Workflow.objects.create(organization=organization, name=name) for name in WORKFLOWS
        ]
        customers = list(
            Customer.objects.for_organization(organization)
            .exclude(status=CustomerStatus.PENDING_ADMIN_ACTIVATION)
            .values_list("pk", flat=True)
        )
        if not customers:
            return
        now = timezone.now()
        rnd = self.random

        def execution(_: int) -> Execution:
            return Execution(
                **execution_values(
                    rnd,
                    organization_id=organization.pk,
                    customer_id=rnd.choice(customers),
                    workflow_id=rnd.choice(workflows).pk,
                    now=now,
                )
            )

        def event(_: int) -> Event:
            return Event(
                **event_values(
                    rnd, organization_id=organization.pk, customer_id=rnd.choice(customers), now=now
                )
            )

        runs = counted([execution(n) for n in range(executions)], "started_at")
        happenings = counted([event(n) for n in range(events)], "occurred_at")
        self._bulk(Execution, runs.__getitem__, len(runs), "executions")
        self._bulk(Event, happenings.__getitem__, len(happenings), "events")

    def _health(self, organization: Organization) -> None:
        """Customers in every health state, some near or at a limit (which fires real usage
        alerts: their emails go out from the worker under make run), then every score."""
        active = list(
            Customer.objects.for_organization(organization)
            .filter(status=CustomerStatus.ACTIVE)
            .select_related("plan", "organization")
            .order_by("name")
        )
        now = timezone.now()
        live = Connection.objects.for_organization(organization).filter(
            status=Connection.Status.CONNECTED
        )
        for k, connection in enumerate(live.select_related("customer").order_by("app", "pk")):
            if k % 4 == 1:  # idle: connected long ago, not used since
                live.filter(pk=connection.pk).update(
                    connected_at=now - timedelta(days=60), last_used_at=now - timedelta(days=45)
                )
            elif k % 4 == 2:  # degraded: its last calls failed
                error = {"outcome": "error", "error": "HTTP 429 Too Many Requests"}
                ok = {"outcome": "success", "occurred_at": now - timedelta(hours=2)}
                connection_activity_record(connection=connection, actor=None, items=[ok, error])
            else:
                connection_activity_record(
                    connection=connection, actor=None, items=[{"outcome": "success"}] * 3
                )
        # Three customers on a trial allowance of 200 events a day, used to 85, 100 and 95 %.
        item = {"type": "webhook", "direction": "incoming", "name": "order.created"}
        for customer, used in zip(active[1::5], (170, 200, 190), strict=False):
            override_set(
                customer=customer,
                dimension="events_per_day",
                value=200,
                reason="Trial allowance",
                actor=None,
            )
            # topped up from what today's random events already counted
            already = consume(customer, "events_per_day", 0).used
            events_ingest(customer=customer, items=[item] * max(used - already, 0))
        everyone = list(
            Customer.objects.for_organization(organization).select_related("organization")
        )
        for start in range(0, len(everyone), 500):
            customers_health_refresh(everyone[start : start + 500], now=now)

    def _bulk_customers(self, organization: Organization, count: int) -> None:
        plans = list(plans_of(organization))
        start = Customer.objects.for_organization(organization).count()
        now = timezone.now()

        def customer(i: int) -> Customer:
            n = start + i
            return Customer(
                **customer_values(
                    n, organization_id=organization.pk, plan=plans[n % len(plans)], now=now
                )
            )

        self._bulk(Customer, customer, count, "customers")

    def _bulk(self, model: Any, make: Any, total: int, label: str, batch: int = 2000) -> None:
        done = 0
        while done < total:
            size = min(batch, total - done)
            model.objects.bulk_create([make(done + i) for i in range(size)])
            done += size
            width = 30
            filled = width * done // total
            sys.stderr.write(
                f"\r  {label:<11} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            )
            sys.stderr.flush()
        if total:
            sys.stderr.write("\n")
