"""Audit entries outlive what they name: purging a customer, deleting a user or an organization
never cascades into the trail, the labels stay as they were written, and the chain verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail.services import record
from audit.verify import verify
from customers.models import Customer, Organization, User
from customers.services import customer_delete, customers_purge_deleted
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_foreign_keys_never_cascade_into_the_trail():
    for name in ("organization", "actor_user", "actor_token", "customer"):
        field = AuditEntry._meta.get_field(name)
        assert field.remote_field.on_delete.__name__ in ("DO_NOTHING", "SET_NULL"), name
        assert field.db_constraint is False, name


def test_a_purged_customer_leaves_its_entries_and_their_labels(org, owner):
    customer = make_customer(org, actor=owner, name="Gone Corp")
    customer_delete(customer=customer, actor=owner)
    before = AuditEntry.objects.for_customer(customer).count()
    customers_purge_deleted(now=timezone.now() + timedelta(days=365))

    assert not Customer.objects.unscoped().filter(pk=customer.pk).exists()
    kept = AuditEntry.objects.for_customer(customer)
    assert kept.count() == before + 1  # and customer.purged itself
    assert set(kept.values_list("resource_label", flat=True)) == {"Gone Corp"}
    assert verify(org.pk).problems == []


def test_a_deleted_user_keeps_their_entries_and_their_email(org, owner):
    entry = record(action="thing.done", organization=org, actor=owner)
    email = owner.email
    User.objects.filter(pk=owner.pk).delete()
    entry = AuditEntry.objects.for_organization(org).get(pk=entry.pk)
    assert entry.actor_label == email
    assert entry.actor_user_id == owner.pk  # the id as it was: nothing rewrote the row
    assert verify(org.pk).problems == []


def test_a_deleted_organization_leaves_its_trail(org, owner):
    record(action="thing.done", organization=org, actor=owner)
    count = AuditEntry.objects.for_organization(org).count()
    Organization.objects.filter(pk=org.pk).delete()
    assert AuditEntry.objects.unscoped().filter(organization_id=org.pk).count() == count
    assert verify(org.pk).problems == []
