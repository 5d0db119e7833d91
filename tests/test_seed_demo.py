from __future__ import annotations

import pytest
from django.core.management import call_command

from customers.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_the_logins(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "owner@acme.test / tenantry-demo" in out
    acme = Organization.objects.get(name="Acme SaaS")
    assert Membership.objects.filter(organization=acme).count() == 2
    assert User.objects.count() == 2
    owner = User.objects.get(email="owner@acme.test")
    assert owner.check_password("tenantry-demo")


def test_if_empty_leaves_an_existing_install_alone(capsys):
    User.objects.create_user(email="someone@example.com", password="x")
    call_command("seed_demo", "--if-empty")
    assert not Organization.objects.exists()
