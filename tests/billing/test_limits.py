"""Effective limits, consumption, pooled caps and enforcement."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEntry, Event
from billing.models import CustomerLimitOverride, Plan, PlanLimit
from billing.services import (
    LimitError,
    consume,
    effective_limit,
    effective_limits_for,
    override_clear,
    override_set,
    plan_limit_impact,
    plan_limit_set,
    pooled_cap_set,
    usage_for,
)
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_new_organizations_get_default_limits_per_plan(org):
    free = Plan.objects.for_organization(org).get(name="Free")
    limits = {
        pl.dimension: pl.value for pl in PlanLimit.objects.for_organization(org).filter(plan=free)
    }
    assert limits["events_per_day"] == 1000
    assert set(limits) == {
        "events_per_day",
        "executions_per_month",
        "connected_accounts",
        "seats",
        "api_requests_per_minute",
    }
    enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
    assert (
        PlanLimit.objects.for_organization(org)
        .get(plan=enterprise, dimension="events_per_day")
        .value
        is None
    )


class TestPrecedence:
    def test_plan_default_applies_without_override(self, acme):
        assert effective_limit(acme, "events_per_day") == 1000

    def test_an_override_wins(self, acme, owner):
        override_set(
            customer=acme,
            dimension="events_per_day",
            value=5000,
            reason="Black Friday",
            actor=owner,
        )
        assert effective_limit(acme, "events_per_day") == 5000

    def test_unlimited_override(self, acme, owner):
        override_set(
            customer=acme,
            dimension="events_per_day",
            value=None,
            reason="Enterprise trial",
            actor=owner,
        )
        assert effective_limit(acme, "events_per_day") is None

    def test_an_expired_override_stops_applying_by_itself(self, acme, owner):
        override_set(
            customer=acme,
            dimension="events_per_day",
            value=5000,
            reason="Promo",
            actor=owner,
            expires_at=timezone.now() + timedelta(days=1),
        )
        assert effective_limit(acme, "events_per_day") == 5000
        with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
            assert effective_limit(acme, "events_per_day") == 1000
        assert CustomerLimitOverride.objects.for_customer(acme).exists()  # no job needed

    def test_reset_to_plan_default(self, acme, owner, org):
        override_set(customer=acme, dimension="seats", value=10, reason="x", actor=owner)
        override_clear(customer=acme, dimension="seats", actor=owner)
        assert effective_limit(acme, "seats") == 3
        entry = AuditEntry.objects.for_organization(org).get(action="limit.reset")
        assert entry.changes == {"seats": [10, 3]}

    def test_changes_are_audited_with_old_and_new_values(self, acme, owner, org):
        override_set(
            customer=acme, dimension="events_per_day", value=2500, reason="Launch", actor=owner
        )
        entry = AuditEntry.objects.for_organization(org).get(action="limit.changed")
        assert entry.changes == {"events_per_day": [1000, 2500]}
        assert "Launch" in entry.message

    @pytest.mark.parametrize("value", [-1, "abc", "1.5", "1e3"])
    def test_bad_values_are_refused(self, acme, owner, value):
        with pytest.raises(LimitError, match="whole number"):
            override_set(
                customer=acme, dimension="events_per_day", value=value, reason="x", actor=owner
            )

    def test_a_reason_is_required(self, acme, owner):
        with pytest.raises(LimitError, match="Say why"):
            override_set(
                customer=acme, dimension="events_per_day", value=1, reason=" ", actor=owner
            )

    def test_bulk_lookup_is_two_queries(self, org, owner, django_assert_num_queries):
        customers = [make_customer(org, actor=owner) for _ in range(5)]
        with django_assert_num_queries(2):
            limits = effective_limits_for(customers)
        assert len(limits) == 5


class TestConsume:
    def test_it_counts_and_refuses_past_the_limit(self, acme, owner):
        override_set(customer=acme, dimension="events_per_day", value=5, reason="t", actor=owner)
        assert consume(acme, "events_per_day", 3).allowed
        assert consume(acme, "events_per_day", 2).used == 5
        refused = consume(acme, "events_per_day", 1)
        assert not refused.allowed
        assert (refused.limit, refused.used) == (5, 5)
        assert refused.reset_at == (timezone.now() + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        assert usage_for([acme])[acme.pk]["events_per_day"] == 5

    def test_a_batch_that_does_not_fit_counts_nothing(self, acme, owner):
        override_set(customer=acme, dimension="events_per_day", value=5, reason="t", actor=owner)
        consume(acme, "events_per_day", 4)
        assert not consume(acme, "events_per_day", 2).allowed
        assert consume(acme, "events_per_day", 1).allowed

    def test_a_first_request_larger_than_the_limit_is_refused(self, acme, owner):
        override_set(customer=acme, dimension="events_per_day", value=5, reason="t", actor=owner)
        assert not consume(acme, "events_per_day", 6).allowed
        assert usage_for([acme])[acme.pk]["events_per_day"] == 0

    def test_windows_reset_in_utc(self, acme, owner):
        override_set(customer=acme, dimension="events_per_day", value=1, reason="t", actor=owner)
        assert consume(acme, "events_per_day").allowed
        assert not consume(acme, "events_per_day").allowed
        with time_machine.travel(timezone.now() + timedelta(days=1)):
            assert consume(acme, "events_per_day").allowed

    def test_unlimited_never_refuses(self, acme, owner):
        override_set(customer=acme, dimension="events_per_day", value=None, reason="t", actor=owner)
        assert consume(acme, "events_per_day", 10**9).allowed

    def test_the_pooled_cap_is_shared_and_refusal_counts_nothing(self, org, owner):
        a = make_customer(org, actor=owner, plan="Enterprise")
        b = make_customer(org, actor=owner, plan="Enterprise")
        pooled_cap_set(organization=org, dimension="events_per_day", value=10, actor=owner)
        assert consume(a, "events_per_day", 6).allowed
        refused = consume(b, "events_per_day", 5)
        assert not refused.allowed
        assert refused.scope == "pool"
        assert (refused.limit, refused.used) == (10, 6)
        assert usage_for([b])[b.pk]["events_per_day"] == 0  # rolled back with the pool
        assert consume(b, "events_per_day", 4).allowed

    def test_gauges_cannot_be_consumed(self, acme):
        with pytest.raises(ValueError, match="gauge"):
            consume(acme, "seats")


class TestPlanDefaults:
    def test_impact_lists_customers_the_new_value_would_put_over(self, org, owner):
        busy = make_customer(org, actor=owner, name="Busy", plan="Free")
        quiet = make_customer(org, actor=owner, name="Quiet", plan="Free")
        consume(busy, "events_per_day", 50)
        consume(quiet, "events_per_day", 5)
        free = Plan.objects.for_organization(org).get(name="Free")
        impact = plan_limit_impact(plan=free, dimension="events_per_day", value=10)
        assert [(c.name, used) for c, used in impact] == [("Busy", 50)]

    def test_set_is_audited(self, org, owner):
        free = Plan.objects.for_organization(org).get(name="Free")
        plan_limit_set(plan=free, dimension="seats", value=7, actor=owner)
        entry = AuditEntry.objects.for_organization(org).get(action="plan_limit.changed")
        assert entry.changes == {"seats": [3, 7]}


class TestIngestionApi:
    def post(self, client, secret, customer, body, kind="events"):
        return client.post(
            f"/api/v1/customer/{customer.pk}/{kind}",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )

    def event(self, **extra):
        return {"type": "webhook", "direction": "incoming", "name": "order.created", **extra}

    def test_single_and_batch(self, client, acme, secret):
        assert self.post(client, secret, acme, self.event()).json() == {"accepted": 1}
        response = self.post(client, secret, acme, [self.event() for _ in range(3)])
        assert response.status_code == 201
        assert Event.objects.for_customer(acme).count() == 4

    def test_over_the_limit_is_429_with_retry_after_and_nothing_stored(
        self, client, acme, secret, owner, org
    ):
        override_set(customer=acme, dimension="events_per_day", value=2, reason="t", actor=owner)
        response = self.post(client, secret, acme, [self.event() for _ in range(3)])
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        body = response.json()
        assert body["dimension"] == "events_per_day"
        assert (body["limit"], body["used"], body["window"]) == (2, 0, "day")
        assert body["reset_at"]
        assert Event.objects.for_customer(acme).count() == 0
        assert (
            AuditEntry.objects.for_organization(org)
            .filter(action="events.refused", outcome="denied")
            .exists()
        )

    def test_batches_over_1000_and_bad_items_are_422(self, client, acme, secret):
        assert self.post(client, secret, acme, [self.event()] * 1001).status_code == 422
        assert self.post(client, secret, acme, self.event(type="nope")).status_code == 422
        assert self.post(client, secret, acme, []).status_code == 422

    def test_executions(self, client, acme, secret):
        response = self.post(
            client,
            secret,
            acme,
            {
                "workflow": "Sync orders",
                "triggered_by": "webhook",
                "status": "succeeded",
                "started_at": timezone.now().isoformat(),
                "duration_ms": 1200,
            },
            kind="executions",
        )
        assert response.status_code == 201

    def test_a_suspended_customer_is_refused(self, client, acme, secret, owner):
        from customers.services import customer_suspend

        customer_suspend(customer=acme, actor=owner)
        response = self.post(client, secret, acme, self.event())
        assert response.status_code == 409
        assert "suspended" in response.json()["detail"]

    def test_another_organizations_customer_is_404(self, client, secret, other_org, outsider):
        theirs = make_customer(other_org, actor=outsider)
        assert self.post(client, secret, theirs, self.event()).status_code == 404

    def test_a_slug_gets_a_404_that_names_the_uuid(self, client, acme, secret):
        response = client.post(
            f"/api/v1/customer/{acme.slug}/events",
            self.event(),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 404
        assert str(acme.pk) in response.json()["detail"]


class TestGauges:
    def test_seats_beyond_the_limit_are_refused_at_invite_and_acceptance(self, org, owner):
        from customers.services import ServiceError, invite_accept, invite_send
        from tests.factories import UserFactory, make_seat

        customer = make_customer(org, actor=owner, plan="Free", admin_email="a@x.test")
        override_set(customer=customer, dimension="seats", value=2, reason="t", actor=owner)
        invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="a@x.test"))
        pending = invite_send(customer=customer, email="b@x.test", role="user", actor=owner)
        make_seat(customer)  # a third person took the last seat meanwhile
        with pytest.raises(ServiceError, match="used all 2 of its seats"):
            invite_send(customer=customer, email="c@x.test", role="user", actor=owner)
        with pytest.raises(ServiceError, match="used all 2 of its seats"):
            invite_accept(invitation=pending, actor=UserFactory(email="b@x.test"))

    def test_connected_accounts_beyond_the_limit_are_refused(self, org, owner):
        from customers.services import ServiceError, connection_create, customer_activate

        customer = make_customer(org, actor=owner, plan="Free")
        customer_activate(customer=customer, actor=owner)
        for n in range(2):  # Free allows 2
            connection_create(customer=customer, app="Slack", account_label=f"w{n}", actor=owner)
        with pytest.raises(ServiceError, match="used all 2 of its connected accounts"):
            connection_create(customer=customer, app="Slack", account_label="w3", actor=owner)

    def test_the_portal_says_so_when_inviting_past_the_limit(self, org, owner):
        from django.test import Client

        from customers.services import invite_accept
        from tests.factories import UserFactory

        customer = make_customer(org, actor=owner, plan="Free", admin_email="a@x.test")
        override_set(customer=customer, dimension="seats", value=1, reason="t", actor=owner)
        user = UserFactory(email="a@x.test")
        invite_accept(invitation=customer.admin_invitation, actor=user)
        client = Client()
        client.force_login(user)
        response = client.post("/portal/users/", {"email": "b@x.test", "role": "user"})
        assert response.status_code == 422
        assert "used all 1 of its seats" in response.content.decode()
