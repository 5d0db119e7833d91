"""The SAML connections' upkeep in the worker's pass: a signing certificate that expires
within 30 days warns the customer's admins and the organization's owners and admins once
(email, audit entry, webhook, the customer's health panel); a metadata URL is read again
after a day and a new certificate from it is taken in; expired assertions are forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEntry
from customers.identity.sso import saml_metadata
from customers.identity.sso.models import SamlAssertionSeen, SsoConnection
from customers.identity.sso.saml_upkeep import saml_upkeep_due
from customers.identity.sso.services import (
    sso_connection_activate,
    sso_connection_create,
    sso_connection_test_recorded,
)
from customers.models import WebhookEvent
from tests.factories import make_customer
from tests.idp import saml_idp

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org, owner):
    return make_customer(org, actor=owner, name="Acme Corp", admin_email="it@acme.test")


def active_saml(customer, owner, idp, **settings) -> SsoConnection:
    connection = sso_connection_create(
        customer=customer,
        actor=owner,
        name=settings.pop("name", "Okta SAML"),
        protocol="saml",
        idp_entity_id=idp.entity_id,
        idp_sso_url=idp.sso_url,
        idp_certificate=idp.certificate,
        **settings,
    )
    sso_connection_test_recorded(connection=connection, actor=owner, passed=True, result="ok")
    return sso_connection_activate(connection=connection, actor=owner)


def test_a_certificate_expiring_within_30_days_warns_everyone_once(
    customer, owner, owner_client, django_capture_on_commit_callbacks
):
    soon = saml_idp.Idp(days=12)
    connection = active_saml(customer, owner, soon)
    later = active_saml(customer, owner, saml_idp.Idp(days=200), name="Fresh")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert saml_upkeep_due()["certificates_warned"] == 1
    assert len(mail.outbox) >= 1
    recipients = {address for message in mail.outbox for address in message.to}
    assert owner.email in recipients
    assert "expires on" in mail.outbox[0].subject
    entry = AuditEntry.objects.unscoped().get(action="sso.certificate_expiring")
    assert entry.resource_id == str(connection.pk)
    assert "in 11 days" in entry.message or "in 12 days" in entry.message
    events = WebhookEvent.objects.for_organization(customer.organization)
    assert events.filter(type="sso.certificate_expiring").count() == 1
    page = owner_client.get(f"/settings/customers/{customer.pk}/").content.decode()
    assert page.count("The SAML signing certificate of") == 1  # not the fresh one's
    assert later.certificate_expires_at > timezone.now() + timedelta(days=30)
    # The next pass says nothing more about the same certificate.
    mail.outbox.clear()
    assert saml_upkeep_due()["certificates_warned"] == 0
    assert mail.outbox == []


def test_a_new_certificate_that_also_expires_soon_warns_again(customer, owner):
    connection = active_saml(customer, owner, saml_idp.Idp(days=5))
    assert saml_upkeep_due()["certificates_warned"] == 1
    pem, expires = saml_metadata.certificate_summary(saml_idp.Idp(days=20).certificate)
    SsoConnection.objects.for_customer(customer).filter(pk=connection.pk).update(
        idp_certificate=pem, certificate_expires_at=expires
    )
    assert saml_upkeep_due()["certificates_warned"] == 1


def test_drafts_and_far_certificates_warn_nobody(customer, owner):
    soon = saml_idp.Idp(days=3)
    sso_connection_create(
        customer=customer,
        actor=owner,
        name="Draft",
        protocol="saml",
        idp_entity_id=soon.entity_id,
        idp_sso_url=soon.sso_url,
        idp_certificate=soon.certificate,
    )
    active_saml(customer, owner, saml_idp.Idp(days=90), name="Far")
    assert saml_upkeep_due()["certificates_warned"] == 0


def test_a_metadata_url_is_read_again_after_a_day_and_its_new_certificate_kept(
    customer, owner, monkeypatch
):
    idp = saml_idp.Idp()
    served = {"metadata": idp.metadata()}
    monkeypatch.setattr(
        saml_metadata,
        "fetch_metadata",
        lambda url: saml_metadata.read_metadata(served["metadata"]),
    )
    connection = active_saml(customer, owner, idp, idp_metadata_url="https://idp.test/md")
    assert saml_upkeep_due()["metadata_refreshed"] == 0  # read a moment ago
    rolled = saml_idp.Idp(entity_id=idp.entity_id, sso_url=idp.sso_url)
    served["metadata"] = rolled.metadata()
    tomorrow = timezone.now() + timedelta(days=1, minutes=1)
    assert saml_upkeep_due(now=tomorrow)["metadata_refreshed"] == 1
    connection.refresh_from_db()
    assert "".join(rolled.certificate.split()[2:-2]) in "".join(connection.idp_certificate.split())
    assert connection.is_active  # a key rollover keeps the test
    change = AuditEntry.objects.unscoped().filter(action="sso_connection.updated").latest("id")
    assert change.actor_type == "system"
    assert "idp_certificate" in change.changes


def test_a_failing_metadata_url_keeps_the_settings(customer, owner, monkeypatch):
    idp = saml_idp.Idp()
    monkeypatch.setattr(
        saml_metadata, "fetch_metadata", lambda url: saml_metadata.read_metadata(idp.metadata())
    )
    connection = active_saml(customer, owner, idp, idp_metadata_url="https://idp.test/md")

    def unreachable(url):
        raise saml_metadata.SsoCheckFailed("metadata", "no answer")

    monkeypatch.setattr(saml_metadata, "fetch_metadata", unreachable)
    tomorrow = timezone.now() + timedelta(days=1, minutes=1)
    assert saml_upkeep_due(now=tomorrow)["metadata_refreshed"] == 0
    connection.refresh_from_db()
    assert connection.idp_certificate
    assert connection.is_active


def test_assertions_a_day_past_expiry_are_forgotten(customer, owner):
    connection = active_saml(customer, owner, saml_idp.Idp())
    now = timezone.now()
    for n, age in enumerate((timedelta(days=2), timedelta(hours=1))):
        SamlAssertionSeen.objects.create(
            organization_id=customer.organization_id,
            connection=connection,
            assertion_id=f"id-{n}",
            expires_at=now - age,
        )
    assert saml_upkeep_due()["assertions_forgotten"] == 1
    kept = SamlAssertionSeen.objects.for_worker().values_list("assertion_id", flat=True)
    assert list(kept) == ["id-1"]
