from __future__ import annotations

import pytest
from django.core.management import call_command

from audit.models import Event, Execution
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

pytestmark = pytest.mark.django_db


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
    # 50 random events, and those that pushed three customers near or to a limit (counted).
    near_limits = UsageCounter.objects.for_organization(acme).filter(dimension="events_per_day")
    assert sorted(near_limits.values_list("used", flat=True)) == [170, 190, 200]
    assert Event.objects.for_organization(acme).count() == 50 + 170 + 190 + 200
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
