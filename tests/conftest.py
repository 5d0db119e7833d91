from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.test import Client

from customers.models import Membership, Organization, User
from customers.services import organization_create
from tests.factories import MembershipFactory, UserFactory

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL-only behaviour; runs in the PostgreSQL pass (DATABASE_URL=postgres://…)",
)


@receiver(connection_created)
def _allow_test_flush(sender, connection, **kwargs):
    # Transactional (browser) tests end with Django's flush, a TRUNCATE of every table; the
    # audit table refuses TRUNCATE unless the session declares maintenance (audit 0003).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET tenantry.audit_maintenance = 'on'")


@pytest.fixture
def org(db) -> Organization:
    return organization_create(name="Acme SaaS", slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return organization_create(name="Globex Cloud", slug="globex")


def _member(organization: Organization, role: str, email: str) -> User:
    return MembershipFactory(
        organization=organization, role=role, user=UserFactory(email=email)
    ).user


@pytest.fixture
def owner(org) -> User:
    return _member(org, Membership.Role.OWNER, "owner@acme.test")


@pytest.fixture
def admin_user(org) -> User:
    return _member(org, Membership.Role.ADMIN, "admin@acme.test")


@pytest.fixture
def viewer(org) -> User:
    return _member(org, Membership.Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def outsider(other_org) -> User:
    return _member(other_org, Membership.Role.OWNER, "owner@globex.test")


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _client_for(owner)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return _client_for(viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return _client_for(outsider)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The outside-in checks' figures (tests/figures.py), for CI's log and the closing note."""
    from tests.figures import FIGURES

    if FIGURES:
        terminalreporter.section("outside-in figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value:,}")


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback (tests/receiver.py), allowed as a destination."""
    from tests.receiver import running_receiver

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with running_receiver() as running:
        yield running
