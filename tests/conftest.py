from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import Client

from customers.models import Customer, Membership, Organization, User
from customers.services import api_token_create, organization_create
from tests.factories import MembershipFactory, UserFactory, make_customer

# Set when the suite runs as a restricted app role (CI): migrations ran as the owner role.
APP_ROLE: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    # With DATABASE_OWNER_URL, the test database is made and migrated by the owner role, as
    # in production; the tests then run as the app's role (django_db_setup below).
    owner = settings.DATABASE_OWNER
    if owner and connection.vendor == "postgresql":
        app = connection.settings_dict
        APP_ROLE.update(USER=app["USER"], PASSWORD=app.get("PASSWORD", ""))
        app.update(USER=owner["USER"], PASSWORD=owner.get("PASSWORD", ""))


def _reconnect_as(credentials: dict[str, str]) -> None:
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    connection.settings_dict.update(credentials)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    if not APP_ROLE:
        yield
        return
    owner = {
        "USER": connection.settings_dict["USER"],
        "PASSWORD": connection.settings_dict["PASSWORD"],
    }
    with django_db_blocker.unblock():
        call_command(
            "audit_db_roles", "--app-role", APP_ROLE["USER"], "--execute", stdout=StringIO()
        )
        _reconnect_as(APP_ROLE)
    yield
    with django_db_blocker.unblock():
        _reconnect_as(owner)  # the owner drops the test database


requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL-only behaviour; runs in the PostgreSQL pass (DATABASE_URL=postgres://…)",
)


@pytest.fixture(autouse=True)
def _audit_folders(settings, tmp_path):
    # Checkpoints and archives describe one database; each test has its own.
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "audit-archive"


def _permission(app: str, verb: str, model: str) -> Permission:
    model_class = django_apps.get_model(app, model)
    content_type = ContentType.objects.get_for_model(model_class, for_concrete_model=False)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=f"{verb}_{model}",
        defaults={"name": f"Can {verb} {model_class._meta.verbose_name_raw}"},
    )
    return permission


@pytest.fixture
def support_group(db) -> Group:
    """The "Support" group that customers' migration 0003 makes. Under xdist a transactional
    test that ran earlier on the same worker empties every table, migration data included, so
    this puts the group back as that migration builds it."""
    migration = importlib.import_module("customers.migrations.0003_support_group")
    group, created = Group.objects.get_or_create(name="Support")
    if created:
        # The flush may have taken the content types and permissions too: made as needed.
        ContentType.objects.clear_cache()
        wanted = [(a, "view", m) for a, m in migration.VIEW_ONLY + migration.VIEW_AND_CHANGE]
        wanted += [(a, "change", m) for a, m in migration.VIEW_AND_CHANGE]
        group.permissions.set(_permission(a, verb, m) for a, verb, m in wanted)
    return group


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


@pytest.fixture
def secret(org, owner) -> str:
    """An organization API key's secret, as a backend sends it."""
    return api_token_create(organization=org, name="backend", actor=owner)[1]


@pytest.fixture
def acme(org, owner) -> Customer:
    """A customer on the Free plan, whose small limits a test can reach."""
    return make_customer(org, actor=owner, name="Acme Co", plan="Free")


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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The accessibility walk takes minutes: its file goes first (after pytest-django's own
    ordering), so under pytest-xdist one worker starts it at once while the others take the
    rest, instead of everyone waiting on it at the end."""
    first = [item for item in items if "tests/e2e/test_accessibility.py" in item.nodeid]
    if first:
        items[:] = first + [item for item in items if item not in first]


def pytest_sessionfinish(session, exitstatus):
    """Under pytest-xdist each worker counts its own figures: it hands them to the controller."""
    from tests.figures import FIGURES

    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    from tests.figures import FIGURES

    FIGURES.update(getattr(node, "workeroutput", {}).get("figures", {}))


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


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (an SSO provider's discovery, remembered failures)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_real_dns(settings):
    """No test reaches a real DNS server: a lookup without ``dns_zone`` asks a loopback port
    nothing answers, briefly."""
    settings.DNS_NAMESERVERS = ["127.0.0.1:9"]
    settings.DNS_TIMEOUT_SECONDS = 0.2


@pytest.fixture
def dns_zone(settings):
    """A DNS server on loopback that domain verification asks; publish records on its zone."""
    from tests.dns_zone import LoopbackDNS

    with LoopbackDNS() as dns:
        settings.DNS_NAMESERVERS = [dns.address]
        settings.DNS_TIMEOUT_SECONDS = 0.5
        yield dns.zone
