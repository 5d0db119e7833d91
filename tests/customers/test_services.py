"""The lifecycle of SPEC §2, every legal and illegal transition, and the other services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEntry
from billing.models import Plan
from customers.models import Connection, Customer, CustomerStatus, Invitation
from customers.services import (
    ServiceError,
    StaleEdit,
    TransitionRefused,
    connection_revoke,
    connections_revoke_all,
    customer_activate,
    customer_admin_replace,
    customer_delete,
    customer_reactivate,
    customer_restore,
    customer_suspend,
    customer_update,
    customers_purge_deleted,
    invite_accept,
    invite_resend,
    invite_revoke,
)
from tests.factories import UserFactory, make_connection, make_customer

pytestmark = pytest.mark.django_db

S = CustomerStatus


def entries(org, action=None):
    queryset = AuditEntry.objects.for_organization(org)
    return queryset.filter(action=action) if action else queryset


def at_status(customer, status, owner):
    """Bring a fresh customer to ``status`` through legal transitions only."""
    if status in (S.ACTIVE,):
        invite_accept(
            invitation=customer.admin_invitation,
            actor=UserFactory(email=customer.admin_email),
        )
    elif status == S.SUSPENDED:
        customer_suspend(customer=customer, actor=owner)
    elif status == S.DELETED:
        customer_delete(customer=customer, actor=owner)
    customer.refresh_from_db()
    assert customer.status == status
    return customer


class TestCreate:
    def test_it_creates_a_pending_customer_audits_and_invites(self, org, owner, customer):
        assert customer.status == S.PENDING_ADMIN_ACTIVATION
        assert customer.version == 1
        assert customer.admin_email == "john@acme.ai"
        assert customer.admin_display == "john@acme.ai (Invite Pending)"
        invitation = customer.admin_invitation
        assert invitation.is_admin_invite
        assert invitation.role == "superuser"
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["john@acme.ai"]
        assert "John-Acme" in mail.outbox[0].subject
        assert entries(org, "customer.created").get().actor_user_id == owner.pk
        assert entries(org, "invite.sent").exists()

    def test_entitlements_come_from_the_plan(self, org, owner):
        customer = make_customer(org, actor=owner, plan="Enterprise")
        assert customer.has_pci_passwords
        assert customer.can_upload_vcl
        assert not make_customer(org, actor=owner, plan="Free").can_upload_vcl

    def test_the_slug_defaults_to_the_name(self, org, owner):
        from customers.services import customer_create

        plan = Plan.objects.for_organization(org).first()
        customer = customer_create(organization=org, actor=owner, name="Widget Inc", plan=plan)
        assert customer.slug == "widget-inc"

    def test_taken_slug_and_external_id_are_refused_with_clear_messages(self, org, owner, customer):
        with pytest.raises(ValidationError) as error:
            make_customer(org, actor=owner, slug="acme-customer", external_id="customer_12345")
        assert "uses the slug “acme-customer”" in error.value.message_dict["slug"][0]
        assert "external ID" in error.value.message_dict["external_id"][0]
        assert entries(org, "customer.created").filter(outcome="failure").count() == 1

    def test_the_same_slug_in_another_organization_is_fine(self, other_org, outsider, customer):
        assert make_customer(other_org, actor=outsider, slug="acme-customer").slug == (
            "acme-customer"
        )

    def test_a_uuid_shaped_slug_is_refused(self, org, owner):
        with pytest.raises(ValidationError, match="may not look like a UUID"):
            make_customer(org, actor=owner, slug="0b8e4bd4-2c55-4c5b-9d7e-4bbf36c5b1a2")

    def test_a_bad_admin_email_is_refused_and_nothing_is_created(self, org, owner):
        with pytest.raises(ServiceError, match="not a valid email"):
            make_customer(org, actor=owner, name="Bad", admin_email="not-an-email")
        assert not Customer.objects.for_organization(org).filter(name="Bad").exists()
        assert mail.outbox == []


LEGAL = [
    (S.PENDING_ADMIN_ACTIVATION, customer_suspend, S.SUSPENDED),
    (S.PENDING_ADMIN_ACTIVATION, customer_delete, S.DELETED),
    (S.PENDING_ADMIN_ACTIVATION, customer_activate, S.ACTIVE),
    (S.ACTIVE, customer_suspend, S.SUSPENDED),
    (S.ACTIVE, customer_delete, S.DELETED),
    (S.SUSPENDED, customer_delete, S.DELETED),
    (S.DELETED, customer_restore, S.PENDING_ADMIN_ACTIVATION),
]
ILLEGAL = [
    (S.PENDING_ADMIN_ACTIVATION, customer_reactivate),
    (S.PENDING_ADMIN_ACTIVATION, customer_restore),
    (S.ACTIVE, customer_reactivate),
    (S.ACTIVE, customer_restore),
    (S.ACTIVE, customer_activate),
    (S.SUSPENDED, customer_suspend),
    (S.SUSPENDED, customer_restore),
    (S.SUSPENDED, customer_activate),
    (S.DELETED, customer_suspend),
    (S.DELETED, customer_reactivate),
    (S.DELETED, customer_delete),
    (S.DELETED, customer_activate),
]


@pytest.mark.parametrize(("start", "service", "end"), LEGAL)
def test_legal_transitions(org, owner, customer, start, service, end):
    customer = at_status(customer, start, owner)
    version = customer.version

    result = service(customer=customer, actor=owner)

    assert result.status == end
    customer.refresh_from_db()
    assert customer.status == end
    assert customer.version == version + 1
    entry = entries(org).filter(resource_id=str(customer.pk)).first()
    assert entry.outcome == "success"
    assert entry.changes["status"] == [start, end]


@pytest.mark.parametrize(("start", "service"), ILLEGAL)
def test_illegal_transitions_are_refused_with_a_message_and_audited(
    org, owner, customer, start, service
):
    customer = at_status(customer, start, owner)

    with pytest.raises(TransitionRefused) as error:
        service(customer=customer, actor=owner)

    assert customer.name in str(error.value)
    customer.refresh_from_db()
    assert customer.status == start
    failure = entries(org).filter(outcome="failure").get()
    assert failure.message == str(error.value)


def test_reactivate_returns_to_active_when_an_admin_accepted(org, owner, customer):
    at_status(customer, S.ACTIVE, owner)
    customer_suspend(customer=customer, actor=owner)
    assert customer_reactivate(customer=customer, actor=owner).status == S.ACTIVE


def test_reactivate_returns_to_pending_without_an_admin(org, owner, customer):
    customer_suspend(customer=customer, actor=owner)
    assert customer_reactivate(customer=customer, actor=owner).status == S.PENDING_ADMIN_ACTIVATION


def test_delete_is_soft_and_restore_returns_to_the_previous_status(org, owner, customer):
    at_status(customer, S.SUSPENDED, owner)
    deleted = customer_delete(customer=customer, actor=owner)
    assert deleted.deleted_at is not None
    assert Customer.objects.for_organization(org).filter(pk=customer.pk).exists()

    restored = customer_restore(customer=customer, actor=owner)

    assert restored.status == S.SUSPENDED
    assert restored.deleted_at is None


def test_restore_is_refused_after_the_retention_window(org, owner, customer, settings):
    settings.CUSTOMER_RETENTION_DAYS = 30
    customer_delete(customer=customer, actor=owner)
    Customer.objects.for_organization(org).filter(pk=customer.pk).update(
        deleted_at=timezone.now() - timedelta(days=31)
    )
    with pytest.raises(TransitionRefused, match="can no longer be restored"):
        customer_restore(customer=customer, actor=owner)


def test_purge_removes_customers_past_the_window_and_keeps_their_audit_trail(org, owner):
    old = make_customer(org, actor=owner, admin_email="a@old.test")
    make_connection(old)
    recent = make_customer(org, actor=owner)
    for customer in (old, recent):
        customer_delete(customer=customer, actor=owner)
    Customer.objects.for_organization(org).filter(pk=old.pk).update(
        deleted_at=timezone.now() - timedelta(days=31)
    )

    purged = customers_purge_deleted()

    assert len(purged) == 1
    assert not Customer.objects.for_organization(org).filter(pk=old.pk).exists()
    assert Customer.objects.for_organization(org).filter(pk=recent.pk).exists()
    assert entries(org).filter(resource_id=str(old.pk), action="customer.created").exists()
    assert entries(org, "customer.purged").get().actor_type == "system"


def test_the_purge_command(org, owner, capsys):
    from django.core.management import call_command

    customer = make_customer(org, actor=owner, name="Gone")
    customer_delete(customer=customer, actor=owner)
    Customer.objects.for_organization(org).filter(pk=customer.pk).update(
        deleted_at=timezone.now() - timedelta(days=40)
    )
    call_command("purge_deleted_customers")
    assert "Purged 1 customer" in capsys.readouterr().out


class TestUpdate:
    def test_it_applies_changes_bumps_the_version_and_audits_the_diff(self, org, owner, customer):
        updated = customer_update(
            customer=customer,
            actor=owner,
            expected_version=1,
            changes={"name": "John Acme", "force_2fa": True},
        )
        assert updated.version == 2
        entry = entries(org, "customer.updated").get()
        assert entry.changes == {"name": ["John-Acme", "John Acme"], "force_2fa": [False, True]}

    def test_a_stale_version_is_refused_with_what_changed(self, org, owner, customer):
        customer_update(
            customer=customer,
            actor=owner,
            expected_version=1,
            changes={"phone_number": "+1 555 0100"},
        )
        with pytest.raises(StaleEdit) as error:
            customer_update(
                customer=customer, actor=owner, expected_version=1, changes={"name": "Mine"}
            )
        assert error.value.changes["phone_number"] == ["", "+1 555 0100"]
        customer.refresh_from_db()
        assert customer.name == "John-Acme"

    def test_read_only_fields_are_refused(self, org, owner, customer):
        with pytest.raises(ServiceError, match="cannot be changed: can_upload_vcl"):
            customer_update(
                customer=customer,
                actor=owner,
                expected_version=None,
                changes={"can_upload_vcl": True},
            )

    def test_changing_the_plan_changes_the_entitlements(self, org, owner, customer):
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        updated = customer_update(
            customer=customer, actor=owner, expected_version=None, changes={"plan": enterprise}
        )
        assert updated.has_pci_passwords

    def test_another_organizations_plan_is_refused(self, org, other_org, owner, customer):
        theirs = Plan.objects.for_organization(other_org).first()
        with pytest.raises(ServiceError, match="organization's plans"):
            customer_update(
                customer=customer, actor=owner, expected_version=None, changes={"plan": theirs}
            )

    def test_a_deleted_customer_cannot_be_edited(self, org, owner, customer):
        customer_delete(customer=customer, actor=owner)
        with pytest.raises(ServiceError, match="restore it"):
            customer_update(
                customer=customer, actor=owner, expected_version=None, changes={"name": "x"}
            )


class TestInvitations:
    def test_resend_issues_a_new_token_and_expiry(
        self, org, owner, customer, django_capture_on_commit_callbacks
    ):
        invitation = customer.admin_invitation
        old_hash = invitation.token_hash
        Invitation.objects.for_customer(customer).update(
            expires_at=timezone.now() - timedelta(days=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            resent = invite_resend(invitation=invitation, actor=owner)
        assert resent.token_hash != old_hash
        assert resent.expires_at > timezone.now() + timedelta(days=6)
        assert resent.send_count == 2
        assert len(mail.outbox) == 2
        assert entries(org, "invite.resent").exists()

    def test_revoke_and_then_resend_is_refused(self, org, owner, customer):
        invitation = invite_revoke(invitation=customer.admin_invitation, actor=owner)
        assert invitation.status == "revoked"
        with pytest.raises(ServiceError, match="revoked"):
            invite_resend(invitation=invitation, actor=owner)
        customer.refresh_from_db()
        assert customer.admin_display == "john@acme.ai (Invite Revoked)"

    def test_expired_invitations_show_as_expired_by_themselves(self, org, customer):
        Invitation.objects.for_customer(customer).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        customer.refresh_from_db()
        assert customer.admin_display == "john@acme.ai (Invite Expired)"

    def test_replace_admin_revokes_the_pending_invite_and_sends_a_new_one(
        self, org, owner, customer, django_capture_on_commit_callbacks
    ):
        old = customer.admin_invitation
        with django_capture_on_commit_callbacks(execute=True):
            replaced = customer_admin_replace(customer=customer, email="Jane@Acme.ai", actor=owner)
        old.refresh_from_db()
        assert old.status == "revoked"
        assert replaced.admin_email == "jane@acme.ai"
        assert replaced.admin_display == "jane@acme.ai (Invite Pending)"
        assert mail.outbox[-1].to == ["jane@acme.ai"]
        assert entries(org, "customer.admin_replaced").get().changes == {
            "admin_email": ["john@acme.ai", "jane@acme.ai"]
        }

    def test_acceptance_activates_the_customer(self, org, owner, customer):
        seat = invite_accept(
            invitation=customer.admin_invitation, actor=UserFactory(email="john@acme.ai")
        )
        customer.refresh_from_db()
        assert customer.status == S.ACTIVE
        assert customer.owner == seat
        assert customer.admin_display == "john@acme.ai (Active)"


class TestConnections:
    def test_revoke_one(self, org, owner, customer):
        connection = make_connection(customer)
        revoked = connection_revoke(connection=connection, actor=owner)
        assert revoked.status == "revoked"
        assert revoked.revoked_at is not None
        with pytest.raises(ServiceError, match="revoked already"):
            connection_revoke(connection=connection, actor=owner)
        assert entries(org, "connection.revoked").filter(outcome="success").count() == 1

    def test_revoke_all(self, org, owner, customer):
        make_connection(customer, app="Slack")
        make_connection(customer, app="HubSpot", status="expired")
        make_connection(customer, app="Zendesk", status="revoked")
        assert connections_revoke_all(customer=customer, actor=owner) == 2
        assert set(Connection.objects.for_customer(customer).values_list("status", flat=True)) == {
            "revoked"
        }
        with pytest.raises(ServiceError, match="no connected accounts"):
            connections_revoke_all(customer=customer, actor=owner)
