"""The seed's endpoints: /customer/{id}, /current_customer, /customer/{id}/users."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from billing.models import Plan
from customers.models import Customer, CustomerUser
from tests.factories import make_customer, make_seat

pytestmark = pytest.mark.django_db

SEED_FIELDS = {
    "billing_contact_id": (str, type(None)),
    "billing_network_type": str,
    "billing_ref": str,
    "can_configure_wordpress": bool,
    "can_reset_passwords": bool,
    "can_upload_vcl": bool,
    "force_2fa": bool,
    "force_sso": bool,
    "has_account_panel": bool,
    "has_improved_events": bool,
    "has_improved_ssl_config": bool,
    "has_openstack_logging": bool,
    "has_pci": bool,
    "has_pci_passwords": bool,
    "ip_whitelist": str,
    "legal_contact_id": (str, type(None)),
    "name": str,
    "owner_id": (str, type(None)),
    "phone_number": str,
    "postal_address": str,
    "pricing_plan": str,
    "pricing_plan_id": str,
    "security_contact_id": (str, type(None)),
    "technical_contact_id": (str, type(None)),
    "created_at": str,
    "deleted_at": (str, type(None)),
    "id": str,
    "updated_at": str,
}


class TestGet:
    def test_every_seed_field_with_its_type_and_nothing_else(self, api, customer):
        response = api.get(f"/customer/{customer.pk}")
        body = response.json()
        assert response.status_code == 200
        assert set(body) == set(SEED_FIELDS)
        for field, kind in SEED_FIELDS.items():
            assert isinstance(body[field], kind), field
        assert body["id"] == str(customer.pk)
        assert body["pricing_plan"] == "Free"
        assert body["owner_id"] == str(customer.owner_id)
        assert body["billing_contact_id"] is None
        assert body["created_at"] == customer.created_at.isoformat()
        assert response["ETag"] == f'"{customer.pk}-v{customer.version}"'

    def test_fastly_key_works_as_well_as_bearer(self, customer, org, owner):
        from customers.services import api_token_create
        from tests.api.conftest import ApiClient

        secret = api_token_create(organization=org, name="f", actor=owner)[1]
        assert (
            ApiClient(secret, header="Fastly-Key").get(f"/customer/{customer.pk}").status_code
            == 200
        )

    def test_a_slug_or_external_id_gets_a_404_naming_the_uuid(self, api, customer):
        for value in ("acme-customer", "customer_12345"):
            response = api.get(f"/customer/{value}")
            assert response.status_code == 404
            assert str(customer.pk) in response.json()["detail"]

    def test_another_organizations_customer_is_a_bare_404(self, other_api, customer):
        response = other_api.get(f"/customer/{customer.pk}")
        assert response.status_code == 404
        assert str(customer.pk) not in response.json()["detail"]
        assert other_api.get("/customer/acme-customer").json()["detail"] == (
            "No customer with this ID is visible to your token."
        )

    def test_no_token_is_401(self, client, customer):
        assert client.get(f"/api/v1/customer/{customer.pk}").status_code == 401


class TestUsers:
    def test_users_in_the_seed_shape(self, api, customer):
        make_seat(customer, role="billing")
        users = api.get(f"/customer/{customer.pk}/users").json()
        assert len(users) == 2
        admin = next(u for u in users if u["role"] == "superuser")
        assert set(admin) == {
            "id",
            "login",
            "name",
            "role",
            "roles",
            "locked",
            "limit_services",
            "require_new_password",
            "two_factor_auth_enabled",
            "two_factor_setup_required",
            "email_hash",
            "customer_id",
            "created_at",
            "updated_at",
            "deleted_at",
        }
        assert admin["login"] == "john@acme.ai"
        assert admin["roles"] == ["superuser"]
        assert admin["customer_id"] == str(customer.pk)
        assert admin["deleted_at"] is None

    def test_another_organizations_users_are_404(self, other_api, customer):
        assert other_api.get(f"/customer/{customer.pk}/users").status_code == 404


class TestPut:
    def test_json_put_changes_editable_fields_and_is_audited_with_the_token(
        self, api, customer, org
    ):
        response = api.put(
            f"/customer/{customer.pk}", {"phone_number": "+1 555 0100", "force_2fa": True}
        )
        assert response.status_code == 200
        assert response.json()["phone_number"] == "+1 555 0100"
        assert response.json()["force_2fa"] is True
        entry = AuditEntry.objects.for_organization(org).get(action="customer.updated")
        assert entry.actor_type == "token"
        assert entry.actor_label.startswith("API key backend")

    def test_form_encoded_put_like_the_seeds_api(self, api, customer):
        response = api.put(
            f"/customer/{customer.pk}",
            "force_2fa=1&has_pci=true&billing_ref=PO-7",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["force_2fa"], body["has_pci"], body["billing_ref"]) == (True, True, "PO-7")
        back = api.put(
            f"/customer/{customer.pk}",
            "force_2fa=0&has_pci=false",
            content_type="application/x-www-form-urlencoded",
        ).json()
        assert (back["force_2fa"], back["has_pci"]) == (False, False)

    def test_force_sso_is_refused_until_an_active_tested_connection_exists(self, api, customer):
        from customers.identity.sso.services import (
            sso_connection_activate,
            sso_connection_create,
            sso_connection_test_recorded,
        )

        refused = api.put(f"/customer/{customer.pk}", {"force_sso": True})
        assert refused.status_code == 422
        assert "no active, tested SSO connection" in str(refused.json())
        customer.refresh_from_db()
        assert not customer.force_sso
        connection = sso_connection_create(
            customer=customer, actor=None, name="Okta", issuer="https://i.example", client_id="c"
        )
        sso_connection_test_recorded(connection=connection, actor=None, passed=True, result="ok")
        sso_connection_activate(connection=connection, actor=None)
        assert api.put(f"/customer/{customer.pk}", {"force_sso": True}).json()["force_sso"]
        assert not api.put(f"/customer/{customer.pk}", {"force_sso": False}).json()["force_sso"]

    def test_read_only_fields_are_refused_naming_them(self, api, customer):
        response = api.put(
            f"/customer/{customer.pk}", {"can_upload_vcl": True, "id": "other", "name": "New"}
        )
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "can_upload_vcl is read-only" in detail
        assert "id is read-only" in detail
        customer.refresh_from_db()
        assert customer.name == "John-Acme"

    def test_sending_back_what_get_returned_works(self, api, customer):
        body = api.get(f"/customer/{customer.pk}").json()
        body["billing_ref"] = "PO-roundtrip"
        response = api.put(f"/customer/{customer.pk}", body)
        assert response.status_code == 200
        assert response.json()["billing_ref"] == "PO-roundtrip"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"force_2fa": "yes"}, "force_2fa must be true or false"),
            ({"billing_network_type": "wifi"}, "billing_network_type must be"),
            ({"name": ""}, "name may not be empty"),
            ({"name": "x" * 201}, "at most 200"),
            ({"ip_whitelist": "10.0.0.1/8"}, "host bits set"),
            ({"unknown": 1}, "unknown is not a field"),
        ],
    )
    def test_validation_errors_are_422_with_a_message_per_field(self, api, customer, body, message):
        response = api.put(f"/customer/{customer.pk}", body)
        assert response.status_code == 422
        assert message in response.json()["detail"]

    def test_unknown_references_are_404_naming_the_field(self, api, customer):
        for body, message in [
            ({"billing_contact_id": "not-a-user"}, "billing_contact_id is not the id"),
            ({"pricing_plan_id": "nope"}, "pricing_plan_id is not one of"),
        ]:
            response = api.put(f"/customer/{customer.pk}", body)
            assert response.status_code == 404
            assert message in response.json()["detail"]

    def test_nul_characters_are_refused(self, api, customer):
        response = api.put(f"/customer/{customer.pk}", {"billing_ref": "a\u0000b"})
        assert response.status_code == 422
        assert "NUL" in response.json()["detail"]

    def test_bad_json_is_400_and_a_list_is_422(self, api, customer):
        assert (
            api.put(
                f"/customer/{customer.pk}", "{nope", content_type="application/json"
            ).status_code
            == 400
        )
        assert api.put(f"/customer/{customer.pk}", [1, 2]).status_code == 422

    def test_contacts_and_plan(self, api, customer, org):
        seat = make_seat(customer)
        pro = Plan.objects.for_organization(org).get(name="Pro")
        body = api.put(
            f"/customer/{customer.pk}",
            {"billing_contact_id": str(seat.pk), "pricing_plan_id": str(pro.pk)},
        ).json()
        assert body["billing_contact_id"] == str(seat.pk)
        assert body["pricing_plan"] == "Pro"
        assert body["can_upload_vcl"] is True  # entitlements follow the plan

    def test_if_match_with_a_stale_etag_is_412(self, api, customer):
        etag = api.get(f"/customer/{customer.pk}")["ETag"]
        assert (
            api.put(
                f"/customer/{customer.pk}", {"billing_ref": "A"}, HTTP_IF_MATCH=etag
            ).status_code
            == 200
        )
        stale = api.put(f"/customer/{customer.pk}", {"billing_ref": "B"}, HTTP_IF_MATCH=etag)
        assert stale.status_code == 412
        customer.refresh_from_db()
        assert customer.billing_ref == "A"

    def test_two_writers_with_if_match_lose_no_update(self, api, customer):
        """Both read, both write: the second is refused, re-reads, and re-applies."""
        first = api.get(f"/customer/{customer.pk}")
        second = api.get(f"/customer/{customer.pk}")
        assert (
            api.put(
                f"/customer/{customer.pk}", {"phone_number": "111"}, HTTP_IF_MATCH=first["ETag"]
            ).status_code
            == 200
        )
        assert (
            api.put(
                f"/customer/{customer.pk}", {"billing_ref": "PO-2"}, HTTP_IF_MATCH=second["ETag"]
            ).status_code
            == 412
        )
        fresh = api.get(f"/customer/{customer.pk}")
        assert (
            api.put(
                f"/customer/{customer.pk}", {"billing_ref": "PO-2"}, HTTP_IF_MATCH=fresh["ETag"]
            ).status_code
            == 200
        )
        customer.refresh_from_db()
        assert (customer.phone_number, customer.billing_ref) == ("111", "PO-2")

    def test_another_organizations_customer_is_404(self, other_api, customer):
        assert other_api.put(f"/customer/{customer.pk}", {"name": "x"}).status_code == 404


class TestDelete:
    def test_soft_delete_answers_ok_then_404_until_restored(self, api, customer):
        response = api.delete(f"/customer/{customer.pk}")
        assert response.json() == {"status": "ok"}
        assert (
            Customer.objects.for_organization(customer.organization).get(pk=customer.pk).deleted_at
            is not None
        )
        assert api.get(f"/customer/{customer.pk}").status_code == 404
        assert api.post(f"/customer/{customer.pk}/restore").json()["status"] == "active"
        assert api.get(f"/customer/{customer.pk}").status_code == 200

    def test_another_organization_cannot_delete(self, other_api, customer):
        assert other_api.delete(f"/customer/{customer.pk}").status_code == 404


class TestCurrentCustomer:
    def test_a_customer_token_reads_its_customer(self, customer_api, customer):
        response = customer_api.get("/current_customer")
        assert response.status_code == 200
        assert response.json()["id"] == str(customer.pk)

    def test_an_organization_token_is_told_why_not(self, api, customer):
        response = api.get("/current_customer")
        assert response.status_code == 403
        assert "customer's API key" in response.json()["detail"]

    def test_a_customer_token_sees_no_other_customer(self, customer_api, org, owner):
        sibling = make_customer(org, actor=owner)
        assert customer_api.get(f"/customer/{sibling.pk}").status_code == 404
        assert customer_api.get(f"/customer/{sibling.pk}/users").status_code == 404
        assert customer_api.get("/customers").status_code == 403

    def test_a_customer_token_edits_only_portal_fields(self, customer_api, customer):
        assert (
            customer_api.put(f"/customer/{customer.pk}", {"phone_number": "1"}).status_code == 200
        )
        refused = customer_api.put(f"/customer/{customer.pk}", {"name": "Renamed"})
        assert refused.status_code == 422
        assert "cannot be changed with a customer's API key" in refused.json()["detail"]
        assert customer_api.delete(f"/customer/{customer.pk}").status_code == 403

    def test_a_suspended_customers_tokens_are_refused(self, customer_api, customer, owner):
        from customers.services import customer_suspend

        customer_suspend(customer=customer, actor=owner)
        response = customer_api.get("/current_customer")
        assert response.status_code == 403
        assert "suspended" in response.json()["detail"]

    def test_customer_tokens_honour_the_ip_allow_list(self, customer_api, customer):
        from customers.services import customer_update

        customer_update(
            customer=customer,
            actor=None,
            expected_version=None,
            changes={"ip_whitelist": "198.51.100.0/24"},
        )
        assert customer_api.get("/current_customer", REMOTE_ADDR="203.0.113.1").status_code == 403
        assert customer_api.get("/current_customer", REMOTE_ADDR="198.51.100.9").status_code == 200

    def test_requests_per_minute_are_limited(self, customer_api, customer, owner):
        from billing.services import override_set

        override_set(
            customer=customer, dimension="api_requests_per_minute", value=2, reason="t", actor=owner
        )
        assert customer_api.get("/current_customer").status_code == 200
        assert customer_api.get("/current_customer").status_code == 200
        limited = customer_api.get("/current_customer")
        assert limited.status_code == 429
        assert int(limited["Retry-After"]) >= 1
        assert limited.json()["dimension"] == "api_requests_per_minute"


def test_seats_are_customer_users(customer):
    assert CustomerUser.objects.for_customer(customer).count() == 1


def test_organization_tokens_are_limited_by_the_pooled_cap(api, customer, org, owner):
    from billing.services import pooled_cap_set

    assert api.get("/customers").status_code == 200  # no cap: no limit
    pooled_cap_set(organization=org, dimension="api_requests_per_minute", value=2, actor=owner)
    assert api.get("/customers").status_code == 200
    assert api.get("/customers").status_code == 200
    limited = api.get("/customers")
    assert limited.status_code == 429
    assert limited.json()["scope"] == "pool"
    assert int(limited["Retry-After"]) >= 1
    # The body is the one the OpenAPI document promises for this operation's 429.
    from jsonschema import validate

    document = api.get("/openapi.json").json()
    promised = document["paths"]["/api/v1/customers"]["get"]["responses"]["429"]
    schema = promised["content"]["application/json"]["schema"]
    validate(limited.json(), {**schema, "components": document["components"]})
    assert schema["$ref"].endswith("/QuotaError")


def test_a_form_encoded_read_only_boolean_equal_to_its_value_is_accepted(api, customer):
    assert customer.can_upload_vcl is False
    response = api.put(
        f"/customer/{customer.pk}",
        "can_upload_vcl=false&deleted_at=&phone_number=%2B1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    refused = api.put(
        f"/customer/{customer.pk}",
        "can_upload_vcl=true",
        content_type="application/x-www-form-urlencoded",
    )
    assert refused.status_code == 422
    assert "can_upload_vcl is read-only" in refused.json()["detail"]


def test_the_put_schema_covers_exactly_the_editable_fields_in_the_seed_names():
    from customers.api.schemas import CustomerOut
    from customers.records.api.updates import CUSTOMER_TOKEN_FIELDS, PROPERTIES, READ_ONLY
    from customers.services import EDITABLE_FIELDS, PORTAL_FIELDS

    seed_name = {"plan": "pricing_plan_id"}
    contacts = {f for f in EDITABLE_FIELDS if f.endswith("_contact")}
    expected = {
        seed_name.get(f, f"{f}_id" if f in contacts else f)
        for f in EDITABLE_FIELDS
        if f not in ("slug", "external_id")  # ours, not the seed's: set at creation
    }
    assert set(PROPERTIES) == expected
    assert READ_ONLY | set(PROPERTIES) >= set(CustomerOut.model_fields) - {"pricing_plan"}
    assert {f.removesuffix("_id") for f in CUSTOMER_TOKEN_FIELDS} == set(PORTAL_FIELDS)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("postal_address", "postal_address must be a string"),
        ("name", "name must be a string"),
        ("force_2fa", "force_2fa must be true or false"),
        ("billing_network_type", "billing_network_type must be a string"),
    ],
)
def test_null_for_a_field_that_cannot_be_empty_is_422_not_500(api, customer, field, message):
    response = api.put(f"/customer/{customer.pk}", {field: None})
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_null_clears_a_contact(api, customer):
    response = api.put(f"/customer/{customer.pk}", {"billing_contact_id": None})
    assert response.status_code == 200
    assert response.json()["billing_contact_id"] is None
