from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Event, Execution
from billing.dimensions import get_dimension
from billing.models import QuotaNotice, UsageCounter
from customers.models import (
    Connection,
    Customer,
    CustomerStatus,
    Invitation,
    Membership,
    Organization,
    User,
)

# The demo puts its support user in the "Support" group that a migration makes (conftest's
# support_group puts it back after a transactional test emptied the tables).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("support_group")]


def counts():
    return (
        User.objects.count(),
        Customer.objects.unscoped().count(),
        Execution.objects.unscoped().count(),
    )


def test_seed_demo_is_idempotent_and_prints_the_logins(capsys):
    call_command("seed_demo", "--executions", "50", "--events", "50")
    first = counts()
    call_command("seed_demo", "--executions", "50", "--events", "50")

    assert counts() == first
    out = capsys.readouterr().out
    assert "owner@acme.test / tenantry-demo" in out
    acme = Organization.objects.get(name="Acme SaaS")
    assert Membership.objects.filter(organization=acme).count() == 2
    assert User.objects.get(email="owner@acme.test").check_password("tenantry-demo")


def test_seed_demo_fills_every_status_plan_and_invite_state(capsys):
    call_command("seed_demo", "--executions", "50", "--events", "50")
    acme = Organization.objects.get(name="Acme SaaS")
    customers = Customer.objects.for_organization(acme)

    assert 35 <= customers.count() <= 45
    assert set(customers.values_list("status", flat=True)) == set(CustomerStatus.values)
    assert customers.values("plan").distinct().count() == 4
    invitations = list(Invitation.objects.for_organization(acme))
    assert {i.display_status for i in invitations} >= {"pending", "expired", "accepted"}
    assert Connection.objects.for_organization(acme).values("status").distinct().count() >= 3
    assert Connection.objects.for_organization(acme).values("app").distinct().count() >= 3
    assert Execution.objects.for_organization(acme).count() == 50
    # Three customers pushed near or to a limit, and 50 random events over the month.
    near_limits = UsageCounter.objects.for_organization(acme).filter(dimension="events_per_day")
    assert max(near_limits.values_list("used", flat=True)) == 200
    assert set(QuotaNotice.objects.for_organization(acme).values_list("kind", flat=True)) >= {
        "threshold_80",
        "threshold_100",
    }
    healths = set(Connection.objects.for_organization(acme).values_list("health", flat=True))
    assert healths == {"healthy", "degraded", "relink_needed", "idle"}
    scores = set(customers.values_list("health_score", flat=True))
    assert min(scores) < 80
    assert 100 in scores


def test_large_volumes_through_flags(capsys):
    call_command("seed_demo", "--customers", "300", "--executions", "10", "--events", "10")
    acme = Organization.objects.get(name="Acme SaaS")
    assert Customer.objects.for_organization(acme).count() >= 330
    assert "customers" in capsys.readouterr().err


def test_if_empty_leaves_an_existing_install_alone(capsys):
    User.objects.create_user(email="someone@example.com", password="x")
    call_command("seed_demo", "--if-empty")
    assert not Organization.objects.exists()


def test_the_demo_has_a_support_user_who_can_use_the_admin(capsys):
    from django.core.management import call_command
    from django.test import Client

    from customers.models import User

    call_command("seed_demo", "--executions", "10", "--events", "10")
    assert "support@acme.test / tenantry-demo" in capsys.readouterr().out
    support = User.objects.get(email="support@acme.test")
    client = Client()
    client.force_login(support)
    assert client.get("/admin/customers/customer/").status_code == 200
    owner = User.objects.get(email="owner@acme.test")
    assert not owner.is_staff


def test_demo_usage_agrees_with_the_demo_rows(capsys):
    """The demo counts what it writes as ingestion would: each customer's counter for today's
    events and this month's executions equals the rows the pages list. At `make run`'s
    volumes: there, today's random events once pushed a trial customer over its limit."""
    call_command("seed_demo")
    acme = Organization.objects.get(name="Acme SaaS")
    now = timezone.now()
    checked = 0
    for dimension, model, when in (
        ("events_per_day", Event, "occurred_at"),
        ("executions_per_month", Execution, "started_at"),
    ):
        start = get_dimension(dimension).window_start(now)
        counters = dict(
            UsageCounter.objects.for_organization(acme)
            .filter(dimension=dimension, window_start=start)
            .values_list("customer_id", "used")
        )
        rows = model.objects.for_organization(acme).filter(**{f"{when}__gte": start})
        listed = Counter(rows.values_list("customer_id", flat=True))
        assert dict(listed) == {k: v for k, v in counters.items() if v}, dimension
        checked += sum(listed.values())
    assert checked > 400  # the month's executions and today's events, at least
