"""SSO connections' rules: a draft until a test passes, a secret kept encrypted and never
audited, force_sso only with an active tested connection, and the sign-in a checked ID token
makes (just-in-time seats within the seat limit, group roles, refusals audited; first
sign-ins raced on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from billing.services import override_set
from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.provisioning import DOMAIN_NOT_VERIFIED, SignInRefused, sso_sign_in
from customers.identity.sso.services import (
    NEEDS_TEST,
    client_secret,
    sso_connection_activate,
    sso_connection_create,
    sso_connection_deactivate,
    sso_connection_delete,
    sso_connection_test_recorded,
    sso_connection_update,
)
from customers.models import CustomerUser, User, WebhookEvent
from customers.platform.errors import Conflict, Invalid, ServiceError
from customers.services import customer_update
from tests.conftest import requires_postgres
from tests.factories import make_customer, make_seat
from tests.threads import race

SECRET = "provider-client-secret-value-7f3a"


def entries(action: str):
    return AuditEntry.objects.unscoped().filter(action=action)


def new_connection(customer, actor, **settings):
    return sso_connection_create(
        customer=customer,
        actor=actor,
        name=settings.pop("name", "Okta"),
        issuer=settings.pop("issuer", "https://idp.example.com"),
        client_id=settings.pop("client_id", "tenantry"),
        client_secret=settings.pop("client_secret", SECRET),
        **settings,
    )


def usable(customer, actor, **settings) -> SsoConnection:
    """An active connection whose test passed."""
    connection = new_connection(customer, actor, **settings)
    sso_connection_test_recorded(connection=connection, actor=actor, passed=True, result="ok")
    return sso_connection_activate(connection=connection, actor=actor)


def verify(customer, domain="acme.example") -> VerifiedDomain:
    return VerifiedDomain.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        domain=domain,
        token="t",
        status=VerifiedDomain.Status.VERIFIED,
    )


@pytest.fixture
def customer(org, owner):
    return make_customer(org, actor=owner, name="Acme Corp")


# --- connections -----------------------------------------------------------------------------


def test_a_new_connection_is_a_draft_with_its_secret_encrypted_and_never_audited(customer, owner):
    connection = new_connection(customer, owner)
    assert connection.status == SsoConnection.Status.DRAFT
    assert SECRET not in connection.client_secret_encrypted
    assert client_secret(connection) == SECRET
    created = entries("sso_connection.created").get()
    assert created.changes["client_secret"] == [None, "set"]
    every_entry = str(list(AuditEntry.objects.unscoped().values()))
    assert SECRET not in every_entry
    assert (
        WebhookEvent.objects.for_organization(customer.organization)
        .filter(type="sso_connection.created")
        .exists()
    )


def test_a_connection_is_activated_only_after_a_passing_test(customer, owner):
    connection = new_connection(customer, owner)
    with pytest.raises(ServiceError, match="Test “Okta” first"):
        sso_connection_activate(connection=connection, actor=owner)
    assert entries("sso_connection.activated").get().outcome == "failure"
    assert NEEDS_TEST.format(name="Okta") in entries("sso_connection.activated").get().message
    sso_connection_test_recorded(connection=connection, actor=owner, passed=False, result="no")
    with pytest.raises(ServiceError):
        sso_connection_activate(connection=connection, actor=owner)
    sso_connection_test_recorded(connection=connection, actor=owner, passed=True, result="ok")
    assert sso_connection_activate(connection=connection, actor=owner).is_active


def test_new_provider_settings_void_the_test_and_make_a_draft_again(customer, owner):
    connection = usable(customer, owner)
    after = sso_connection_update(
        connection=connection, actor=owner, changes={"client_secret": "a-new-secret-value"}
    )
    assert after.status == SsoConnection.Status.DRAFT
    assert not after.passed_test
    changed = entries("sso_connection.updated").get()
    assert changed.changes["client_secret"] == [None, "set"]
    assert "a-new-secret-value" not in str(changed.changes)
    # A mapping change keeps the connection as it is.
    again = usable(customer, owner, name="Entra")
    kept = sso_connection_update(
        connection=again, actor=owner, changes={"group_roles": {"it-admins": "superuser"}}
    )
    assert kept.is_active


def test_unknown_roles_and_fields_are_refused(customer, owner):
    connection = new_connection(customer, owner)
    with pytest.raises(Invalid, match="not a customer role"):
        sso_connection_update(
            connection=connection, actor=owner, changes={"group_roles": {"x": "god"}}
        )
    with pytest.raises(Invalid, match="cannot be changed"):
        sso_connection_update(connection=connection, actor=owner, changes={"status": "active"})


def test_a_second_connection_with_the_same_name_is_refused(customer, owner):
    new_connection(customer, owner)
    with pytest.raises(Conflict):
        new_connection(customer, owner)


def test_force_sso_needs_an_active_tested_connection(customer, owner):
    with pytest.raises(ValidationError) as refused:
        customer_update(
            customer=customer, actor=owner, expected_version=None, changes={"force_sso": True}
        )
    assert "no active, tested SSO connection" in refused.value.message_dict["force_sso"][0]
    customer.refresh_from_db()
    assert not customer.force_sso
    usable(customer, owner)
    assert customer_update(
        customer=customer, actor=owner, expected_version=None, changes={"force_sso": True}
    ).force_sso


def test_the_last_usable_connection_of_a_customer_that_forces_sso_stays(customer, owner):
    connection = usable(customer, owner)
    customer_update(
        customer=customer, actor=owner, expected_version=None, changes={"force_sso": True}
    )
    connection.refresh_from_db()
    for attempt in (sso_connection_deactivate, sso_connection_delete):
        with pytest.raises(Conflict, match="requires SSO"):
            attempt(connection=connection, actor=owner)
    with pytest.raises(Conflict):
        sso_connection_update(
            connection=connection, actor=owner, changes={"issuer": "https://other.example"}
        )
    usable(customer, owner, name="Backup")
    assert not sso_connection_deactivate(connection=connection, actor=owner).is_active


# --- signing in -------------------------------------------------------------------------------


def token(email="ada@acme.example", **claims):
    return {"sub": "1", "email": email, **claims}


def test_a_first_sign_in_at_a_verified_domain_makes_the_seat_with_the_mapped_role(customer, owner):
    verify(customer)
    connection = usable(customer, owner, group_roles={"it-admins": "superuser", "eng": "engineer"})
    seat = sso_sign_in(
        connection=connection,
        claims=token(given_name="Ada", family_name="Lovelace", groups=["eng", "it-admins"]),
    )
    assert seat.role == CustomerUser.Role.SUPERUSER
    assert seat.user.name == "Ada Lovelace"
    assert not seat.user.has_usable_password()
    provisioned = entries("customer_user.provisioned").get()
    assert provisioned.changes == {"role": [None, "superuser"]}
    assert entries("sso.signed_in").count() == 1
    events = WebhookEvent.objects.for_organization(customer.organization)
    assert {"customer_user.added", "sso.signed_in"} <= set(events.values_list("type", flat=True))
    # The second sign-in finds the seat.
    again = sso_sign_in(connection=connection, claims=token(email="ADA@acme.example"))
    assert again.pk == seat.pk
    assert entries("customer_user.provisioned").count() == 1


def test_people_in_no_mapped_group_get_the_default_role(customer, owner):
    verify(customer)
    connection = usable(customer, owner, default_role="billing")
    assert sso_sign_in(connection=connection, claims=token(groups="sales")).role == "billing"


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"sub": "1"}, "did not send an email address"),
        ({"sub": "1", "email": "not-an-email"}, "did not send an email address"),
        (token(email_verified=False), "is not verified"),
        (token(email_verified="false"), "is not verified"),  # Cognito sends strings
        (token(email="ada@elsewhere.example"), "is not a verified domain of Acme Corp"),
    ],
)
def test_sign_ins_that_cannot_be_trusted_are_refused_and_audited(customer, owner, claims, words):
    verify(customer)
    connection = usable(customer, owner)
    with pytest.raises(SignInRefused, match=words):
        sso_sign_in(connection=connection, claims=claims)
    refused = entries("sso.refused").get()
    assert refused.outcome == "denied"
    assert words in refused.message
    assert not CustomerUser.objects.for_customer(customer).exists()


def test_a_console_member_is_never_signed_in_through_a_customers_sso(customer, owner, org):
    # The console's people keep their passwords: a customer's provider cannot reach them.
    from tests.factories import MembershipFactory

    verify(customer)
    connection = usable(customer, owner)
    person = User.objects.create_user(email="ada@acme.example", password="x")
    MembershipFactory(user=person, organization=org, role="viewer")
    with pytest.raises(SignInRefused, match="belongs to an organization's console"):
        sso_sign_in(connection=connection, claims=token())
    assert not CustomerUser.objects.for_customer(customer).exists()


def test_an_existing_person_at_an_unverified_domain_is_refused(customer, owner):
    # The provider is the customer's: it may only speak for addresses the customer proved.
    make_seat(customer, email="ada@acme.example")
    connection = usable(customer, owner)
    with pytest.raises(SignInRefused) as refused:
        sso_sign_in(connection=connection, claims=token())
    assert str(refused.value) == DOMAIN_NOT_VERIFIED.format(
        domain="acme.example", customer="Acme Corp", email="ada@acme.example"
    )


def test_a_locked_seat_an_inactive_connection_and_no_provisioning_are_refused(customer, owner):
    verify(customer)
    connection = usable(customer, owner, provision_users=False)
    with pytest.raises(SignInRefused, match="does not create accounts"):
        sso_sign_in(connection=connection, claims=token())
    make_seat(customer, email="ada@acme.example", locked=True)
    with pytest.raises(SignInRefused, match="was locked"):
        sso_sign_in(connection=connection, claims=token())
    sso_connection_deactivate(connection=connection, actor=owner)
    with pytest.raises(SignInRefused, match="not active"):
        sso_sign_in(connection=connection, claims=token())


def test_a_first_sign_in_over_the_seat_limit_is_refused_with_a_clear_reason(customer, owner):
    verify(customer)
    connection = usable(customer, owner)
    override_set(customer=customer, dimension="seats", value=0, reason="test", actor=owner)
    with pytest.raises(SignInRefused, match="used all of its seats"):
        sso_sign_in(connection=connection, claims=token())
    assert not User.objects.filter(email="ada@acme.example").exists()
    assert entries("sso.refused").get().message.startswith("Acme Corp has used all")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_simultaneous_first_sign_ins_of_one_person_make_one_user_and_one_seat(org, owner):
    customer = make_customer(org, actor=owner, name="Acme Corp")
    verify(customer)
    connection = usable(customer, owner)
    assert race(8, lambda n: sso_sign_in(connection=connection, claims=token())) == []
    assert User.objects.filter(email="ada@acme.example").count() == 1
    assert CustomerUser.objects.for_customer(customer).count() == 1
    assert entries("customer_user.provisioned").count() == 1
    assert entries("sso.signed_in").count() == 8


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_first_sign_ins_racing_for_the_last_seats_never_overfill_them(org, owner):
    customer = make_customer(org, actor=owner, name="Acme Corp")
    verify(customer)
    connection = usable(customer, owner)
    override_set(customer=customer, dimension="seats", value=3, reason="test", actor=owner)
    errors = race(
        8, lambda n: sso_sign_in(connection=connection, claims=token(email=f"p{n}@acme.example"))
    )
    assert CustomerUser.objects.for_customer(customer).count() == 3
    assert len(errors) == 5
    assert all(isinstance(e, SignInRefused) for e in errors)
    assert entries("sso.refused").count() == 5


def test_the_role_follows_the_providers_groups_at_every_sign_in(customer, owner):
    verify(customer)
    connection = usable(customer, owner, group_roles={"it-admins": "superuser", "eng": "engineer"})
    make_seat(customer, email="boss@acme.example", role="superuser")  # another admin
    seat = sso_sign_in(connection=connection, claims=token(groups=["it-admins"]))
    assert seat.role == "superuser"
    moved = sso_sign_in(connection=connection, claims=token(groups=["eng"]))
    assert moved.role == "engineer"
    changed = entries("customer_user.role_changed").get()
    assert changed.changes == {"role": ["superuser", "engineer"]}
    assert changed.actor_label == "SSO connection “Okta”"
    # No groups claim at all: the role is left as it is.
    assert sso_sign_in(connection=connection, claims=token()).role == "engineer"


def test_the_customers_last_admin_stays_one_whatever_the_groups_say(customer, owner):
    verify(customer)
    connection = usable(customer, owner, group_roles={"it-admins": "superuser"})
    seat = sso_sign_in(connection=connection, claims=token(groups=["it-admins"]))
    assert seat.role == "superuser"
    again = sso_sign_in(connection=connection, claims=token(groups=[]))
    assert again.role == "superuser"
    assert not entries("customer_user.role_changed").exists()
