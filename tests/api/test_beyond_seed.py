"""Beyond the seed: list, create, lifecycle, invitations, limits, connections, audit log."""

from __future__ import annotations

import pytest
from django.core import mail

from audit.models import AuditEntry
from customers.models import Customer
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


class TestList:
    def test_cursor_pagination_newest_first_without_gaps(self, api, org, owner):
        made = [make_customer(org, actor=owner, name=f"C{n}") for n in range(7)]
        seen, cursor = [], None
        while True:
            page = api.get("/customers", {"limit": 3, **({"cursor": cursor} if cursor else {})})
            body = page.json()
            seen += [c["name"] for c in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(c.name for c in made)
        assert len(seen) == len(set(seen)) == 7

    def test_filters(self, api, org, owner, customer):
        make_customer(org, actor=owner, name="Other", plan="Pro")
        assert [c["name"] for c in api.get("/customers", {"plan": "pro"}).json()["data"]] == [
            "Other"
        ]
        assert api.get("/customers", {"slug": "acme-customer"}).json()["data"][0]["id"] == str(
            customer.pk
        )
        assert len(api.get("/customers", {"external_id": "customer_12345"}).json()["data"]) == 1
        assert api.get("/customers", {"status": "active"}).json()["data"][0]["slug"] == (
            "acme-customer"
        )
        assert api.get("/customers", {"created_after": "2999-01-01T00:00:00Z"}).json()["data"] == []

    def test_a_bad_cursor_or_a_numeric_date_is_422(self, api, customer):
        assert api.get("/customers", {"cursor": "garbage"}).status_code == 422
        assert api.get("/customers", {"created_before": "0.5"}).status_code == 422
        assert api.get("/audit-log", {"until": "1700000000"}).status_code == 422
        # Any cursor of the right shape is a place in the list, even far away.
        far = api.get("/customers", {"cursor": "999999999999999999~" + "f" * 32})
        assert far.status_code == 200

    def test_only_the_tokens_organization(self, other_api, customer):
        assert other_api.get("/customers").json()["data"] == []


class TestCreate:
    def test_create_with_admin_email_invites(self, api, org, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/customers", {"name": "Katana", "admin_email": "k@k.test"})
        assert response.status_code == 201
        assert response.json()["status"] == "pending_admin_activation"
        assert mail.outbox[-1].to == ["k@k.test"]

    def test_idempotency_key_replays_the_first_response(self, api, org):
        first = api.post("/customers", {"name": "Once"}, HTTP_IDEMPOTENCY_KEY="abc-1")
        again = api.post("/customers", {"name": "Once"}, HTTP_IDEMPOTENCY_KEY="abc-1")
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert Customer.objects.for_organization(org).filter(name="Once").count() == 1
        different = api.post("/customers", {"name": "Twice"}, HTTP_IDEMPOTENCY_KEY="abc-1")
        assert different.status_code == 422

    def test_validation(self, api, customer):
        taken = api.post("/customers", {"name": "X", "slug": "acme-customer"})
        assert taken.status_code == 409
        assert "uses the slug" in taken.json()["detail"]
        assert api.post("/customers", {"name": ""}).status_code == 422
        assert api.post("/customers", {"name": "   "}).status_code == 422
        assert api.post("/customers", {"name": "X", "admin_email": "nope"}).status_code == 422
        assert api.post("/customers", {"name": "Bad\u0000Name"}).status_code == 422
        assert api.post("/customers", {"name": "X", "pricing_plan_id": "nope"}).status_code == 404

    def test_a_derived_slug_never_collides(self, api, customer):
        first = api.post("/customers", {"name": "Acme Customer"}).json()
        second = api.post("/customers", {"name": "Acme Customer"}).json()
        assert first["slug"] == "acme-customer-2"
        assert second["slug"] == "acme-customer-3"
        assert api.post("/customers", {"name": "!!!"}).json()["slug"] == "customer"


class TestLifecycle:
    def test_suspend_reactivate_and_illegal_moves(self, api, customer, org):
        assert api.post(f"/customer/{customer.pk}/suspend").json()["status"] == "suspended"
        assert api.post(f"/customer/{customer.pk}/suspend").status_code == 409
        assert api.post(f"/customer/{customer.pk}/reactivate").json()["status"] == "active"
        entry = AuditEntry.objects.for_organization(org).filter(action="customer.suspended")
        assert entry.filter(outcome="success", actor_type="token").exists()
        assert entry.filter(outcome="failure").exists()

    @pytest.mark.parametrize("action", ["suspend", "reactivate", "restore"])
    def test_another_organizations_customer_is_404(self, other_api, customer, action):
        assert other_api.post(f"/customer/{customer.pk}/{action}").status_code == 404


class TestInvitations:
    def test_list_create_resend_revoke(self, api, customer):
        created = api.post(
            f"/customer/{customer.pk}/invitations", {"email": "eng@acme.ai", "role": "engineer"}
        )
        assert created.status_code == 201
        invitation_id = created.json()["id"]
        assert len(api.get(f"/customer/{customer.pk}/invitations").json()) == 2
        assert (
            api.post(f"/customer/{customer.pk}/invitations/{invitation_id}/resend").status_code
            == 200
        )
        revoked = api.post(f"/customer/{customer.pk}/invitations/{invitation_id}/revoke")
        assert revoked.json()["status"] == "revoked"
        assert (
            api.post(f"/customer/{customer.pk}/invitations/{invitation_id}/revoke").status_code
            == 409
        )

    def test_another_organizations_invitation_is_404(self, other_api, api, customer):
        invitation_id = customer.invitations.first().pk
        assert other_api.get(f"/customer/{customer.pk}/invitations").status_code == 404
        assert (
            other_api.post(
                f"/customer/{customer.pk}/invitations/{invitation_id}/revoke"
            ).status_code
            == 404
        )
        assert api.post(f"/customer/{customer.pk}/invitations/nope/revoke").status_code == 404


class TestLimits:
    def test_effective_limits_set_and_clear(self, api, customer, org):
        limits = {
            row["dimension"]: row for row in api.get(f"/customer/{customer.pk}/limits").json()
        }
        assert limits["events_per_day"]["limit"] == 1000
        changed = api.put(
            f"/customer/{customer.pk}/limits/events_per_day", {"value": 9000, "reason": "VIP"}
        ).json()
        row = next(r for r in changed if r["dimension"] == "events_per_day")
        assert (row["limit"], row["overridden"], row["plan_default"]) == (9000, True, 1000)
        cleared = api.delete(f"/customer/{customer.pk}/limits/events_per_day").json()
        assert next(r for r in cleared if r["dimension"] == "events_per_day")["limit"] == 1000
        assert (
            api.put(f"/customer/{customer.pk}/limits/nope", {"value": 1, "reason": "x"}).status_code
            == 404
        )
        assert (
            api.put(
                f"/customer/{customer.pk}/limits/seats", {"value": -1, "reason": "x"}
            ).status_code
            == 422
        )

    def test_another_organization_cannot_touch_limits(self, other_api, customer):
        assert other_api.get(f"/customer/{customer.pk}/limits").status_code == 404
        assert (
            other_api.put(
                f"/customer/{customer.pk}/limits/seats", {"value": 1, "reason": "x"}
            ).status_code
            == 404
        )


class TestConnections:
    def test_create_list_revoke_and_the_limit(self, api, customer):
        for n in range(2):
            assert (
                api.post(
                    f"/customer/{customer.pk}/connections",
                    {"app": "Slack", "account_label": f"w{n}"},
                ).status_code
                == 201
            )
        over = api.post(
            f"/customer/{customer.pk}/connections", {"app": "Slack", "account_label": "w3"}
        )
        assert over.status_code == 409
        assert "connected accounts" in over.json()["detail"]
        connection_id = api.get(f"/customer/{customer.pk}/connections").json()[0]["id"]
        assert (
            api.post(f"/customer/{customer.pk}/connections/{connection_id}/revoke").json()["status"]
            == "revoked"
        )

    def test_another_organizations_connection_is_404(self, other_api, api, customer):
        created = api.post(
            f"/customer/{customer.pk}/connections", {"app": "Slack", "account_label": "w"}
        ).json()
        assert (
            other_api.post(
                f"/customer/{customer.pk}/connections/{created['id']}/revoke"
            ).status_code
            == 404
        )


class TestAuditLog:
    def test_cursor_pages_and_filters(self, api, customer, org):
        for n in range(5):
            api.put(f"/customer/{customer.pk}", {"billing_ref": f"PO-{n}"})
        first = api.get("/audit-log", {"action": "customer.updated", "limit": 3}).json()
        second = api.get(
            "/audit-log", {"action": "customer.updated", "limit": 3, "cursor": first["next_cursor"]}
        ).json()
        ids = [e["id"] for e in first["data"] + second["data"]]
        assert len(ids) == len(set(ids)) == 5
        assert second["next_cursor"] is None

    def test_only_the_tokens_organization(self, other_api, customer):
        assert all(
            e["action"] != "customer.created" for e in other_api.get("/audit-log").json()["data"]
        )


class TestInputThatPostgresWouldRefuse:
    """Found by schemathesis: each of these was a 500 on PostgreSQL."""

    def test_far_utc_offsets_are_normalised(self, api, customer):
        response = api.get("/customers", {"created_after": "2000-01-01T00:00:28-19:58"})
        assert response.status_code == 200

    def test_lone_surrogates_and_nul_are_422_not_500(self, api, customer):
        body = (
            '[{"workflow": "\\ud932x", "triggered_by": "webhook", '
            '"started_at": "2026-01-01T00:00:00Z"}]'
        )
        response = api.post(f"/customer/{customer.pk}/executions", body)
        assert response.status_code == 422
        assert api.get("/customer/a\u0000b").status_code == 404

    def test_nul_in_the_limits_search_is_refused_naming_the_field(self, owner_client, customer):
        response = owner_client.get("/settings/billing/customer-limits/", {"q": "a\x00b"})
        assert response.status_code == 400
        assert "“q” contains a NUL character" in response.content.decode()


class TestRefusalsWriteNothing:
    def test_an_execution_refused_for_quota_creates_no_workflow(self, api, customer, org, owner):
        from audit.models import Workflow
        from billing.services import override_set

        override_set(
            customer=customer, dimension="executions_per_month", value=0, reason="t", actor=owner
        )
        for n in range(20):
            response = api.post(
                f"/customer/{customer.pk}/executions",
                {
                    "workflow": f"new-{n}",
                    "triggered_by": "webhook",
                    "started_at": "2026-11-20T10:00:00Z",
                },
            )
            assert response.status_code == 429
        assert not Workflow.objects.for_organization(org).exists()

    def test_an_allowed_execution_creates_its_new_workflow_audited(self, api, customer, org):
        response = api.post(
            f"/customer/{customer.pk}/executions",
            {"workflow": "fresh", "triggered_by": "webhook", "started_at": "2026-11-20T10:00:00Z"},
        )
        assert response.status_code == 201
        entry = AuditEntry.objects.for_organization(org).get(action="workflow.created")
        assert entry.actor_type == "token"
        assert entry.changes == {"name": [None, "fresh"]}


class TestBodiesThatBreakParsers:
    @pytest.mark.parametrize("path", ["/customer/{pk}", "/customers"])
    def test_json_nested_100000_deep_is_400_in_json(self, api, customer, path):
        body = "[" * 100_000 + "]" * 100_000
        url = path.format(pk=customer.pk)
        response = (api.put if "{pk}" in path else api.post)(url, body)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["detail"]


class TestRefusalsAreAudited:
    def test_an_address_outside_the_allow_list(self, customer_api, customer, org):
        from customers.services import customer_update

        customer_update(
            customer=customer,
            actor=None,
            expected_version=None,
            changes={"ip_whitelist": "198.51.100.0/24"},
        )
        assert customer_api.get("/current_customer", REMOTE_ADDR="203.0.113.1").status_code == 403
        entry = AuditEntry.objects.for_organization(org).get(action="api.denied")
        assert entry.outcome == "denied"
        assert entry.actor_type == "token"
        assert entry.ip_address == "203.0.113.1"
        assert "203.0.113.1 is not one of them" in entry.message

    @pytest.mark.parametrize("lifecycle", ["customer_suspend", "customer_delete"])
    def test_tokens_of_suspended_and_deleted_customers(
        self, customer_api, customer, org, owner, lifecycle
    ):
        from customers import services

        getattr(services, lifecycle)(customer=customer, actor=owner)
        assert customer_api.get("/current_customer").status_code == 403
        entry = AuditEntry.objects.for_organization(org).get(action="api.denied")
        assert entry.resource_id == str(customer.pk)

    def test_customer_tokens_on_organization_endpoints(self, customer_api, customer, org):
        assert customer_api.get("/customers").status_code == 403
        entry = AuditEntry.objects.for_organization(org).get(action="api.denied")
        assert entry.resource_label == "GET /api/v1/customers"
