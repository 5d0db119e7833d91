"""The seed's contract: every seed endpoint's response, for customers in every status, validates
against a JSON Schema written from the seed's data model table (shared/seeds/002), as a client
generated from the seed API's published definition would read it."""

from __future__ import annotations

import jsonschema
import pytest

from customers.services import customer_delete, customer_suspend
from tests.factories import make_customer, make_seat
from tests.figures import count

# From the seed's table: every field a string or a boolean. Null only where the published
# definition allows it: the four contacts, billing_ref, postal_address, can_configure_wordpress
# and the timestamps.
NULLABLE = {
    "billing_contact_id",
    "legal_contact_id",
    "security_contact_id",
    "technical_contact_id",
    "billing_ref",
    "postal_address",
    "can_configure_wordpress",
    "created_at",
    "deleted_at",
    "updated_at",
}
SEED_FIELDS = {
    "billing_contact_id": "string",
    "billing_network_type": "string",
    "billing_ref": "string",
    "can_configure_wordpress": "boolean",
    "can_reset_passwords": "boolean",
    "can_upload_vcl": "boolean",
    "force_2fa": "boolean",
    "force_sso": "boolean",
    "has_account_panel": "boolean",
    "has_improved_events": "boolean",
    "has_improved_ssl_config": "boolean",
    "has_openstack_logging": "boolean",
    "has_pci": "boolean",
    "has_pci_passwords": "boolean",
    "ip_whitelist": "string",
    "legal_contact_id": "string",
    "name": "string",
    "owner_id": "string",
    "phone_number": "string",
    "postal_address": "string",
    "pricing_plan": "string",
    "pricing_plan_id": "string",
    "security_contact_id": "string",
    "technical_contact_id": "string",
    "created_at": "string",
    "deleted_at": "string",
    "id": "string",
    "updated_at": "string",
}
CUSTOMER_SCHEMA = {
    "type": "object",
    "required": sorted(SEED_FIELDS),
    "properties": {
        name: {"type": [kind, "null"] if name in NULLABLE else kind}
        for name, kind in SEED_FIELDS.items()
    },
}
# SPEC §6 lists the users endpoint's fields.
USER_SCHEMA = {
    "type": "object",
    "required": [
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
    ],
    "properties": {
        "id": {"type": "string"},
        "login": {"type": "string"},
        "name": {"type": "string"},
        "role": {"enum": ["user", "billing", "engineer", "superuser"]},
        "roles": {"type": "array", "items": {"type": "string"}},
        "locked": {"type": "boolean"},
        "limit_services": {"type": "boolean"},
        "require_new_password": {"type": "boolean"},
        "two_factor_auth_enabled": {"type": "boolean"},
        "two_factor_setup_required": {"type": "boolean"},
        "email_hash": {"type": "string"},
        "customer_id": {"type": "string"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "deleted_at": {"type": ["string", "null"]},
    },
}
STATUS_OK_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"const": "ok"}},
}


def validate(body, schema) -> None:
    count("seed responses validated")
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError:
        count("seed responses failing validation")
        raise


@pytest.fixture
def customers_in_every_status(org, owner, customer):
    """``customer`` (from conftest) is active; add a pending, a suspended and a deleted one."""
    pending = make_customer(org, actor=owner, admin_email="pending@acme.ai")
    suspended = make_customer(org, actor=owner)
    customer_suspend(customer=suspended, actor=owner)
    deleted = make_customer(org, actor=owner)
    customer_delete(customer=deleted, actor=owner)
    make_seat(customer, role="engineer")
    return {"active": customer, "pending": pending, "suspended": suspended, "deleted": deleted}


class TestSeedContract:
    def test_get_put_and_users_validate_for_every_live_status(self, api, customers_in_every_status):
        checked = 0
        for status in ("active", "pending", "suspended"):
            customer = customers_in_every_status[status]
            response = api.get(f"/customer/{customer.pk}")
            assert response.status_code == 200, (status, response.content)
            validate(response.json(), CUSTOMER_SCHEMA)
            response = api.put(f"/customer/{customer.pk}", {"phone_number": "+1 555 0100"})
            # A suspended customer's contact details can still be corrected.
            assert response.status_code == 200, (status, response.content)
            validate(response.json(), CUSTOMER_SCHEMA)
            response = api.get(f"/customer/{customer.pk}/users")
            assert response.status_code == 200
            for user in response.json():
                validate(user, USER_SCHEMA)
            checked += 1
        assert checked == 3

    def test_a_pending_customer_has_an_empty_owner_id_not_null(
        self, api, customers_in_every_status
    ):
        pending = customers_in_every_status["pending"]
        body = api.get(f"/customer/{pending.pk}").json()
        assert body["owner_id"] == ""

    def test_form_encoded_put_validates_too(self, api, customers_in_every_status):
        customer = customers_in_every_status["pending"]
        response = api.put(
            f"/customer/{customer.pk}",
            "phone_number=%2B1+555+0101&can_upload_vcl=false",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200, response.content
        validate(response.json(), CUSTOMER_SCHEMA)

    def test_delete_answers_the_seed_shape_and_deleted_customers_still_list_in_shape(
        self, api, customers_in_every_status
    ):
        active = customers_in_every_status["active"]
        response = api.delete(f"/customer/{active.pk}")
        validate(response.json(), STATUS_OK_SCHEMA)
        listed = api.get("/customers", {"status": "deleted"}).json()["data"]
        assert len(listed) == 2
        for item in listed:
            validate(item, CUSTOMER_SCHEMA)

    def test_current_customer_validates_for_a_customer_token(
        self, customer_api, customers_in_every_status
    ):
        response = customer_api.get("/current_customer")
        assert response.status_code == 200
        validate(response.json(), CUSTOMER_SCHEMA)

    def test_the_published_openapi_document_agrees_with_the_seed_types(self, client, org):
        document = client.get("/api/v1/openapi.json").json()
        schema = document["components"]["schemas"]["CustomerOut"]
        for name, kind in SEED_FIELDS.items():
            declared = schema["properties"][name]
            types = {declared.get("type")} | {
                option.get("type") for option in declared.get("anyOf", [])
            }
            assert kind in types, name
            if name not in NULLABLE:
                assert "null" not in types, f"{name} is published as nullable"
