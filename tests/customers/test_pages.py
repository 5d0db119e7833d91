"""Create, detail, edit and the Danger Zone, through the browser-facing views."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail

from audit.models import AuditEntry
from billing.models import Plan
from customers.models import Customer
from customers.services import customer_delete, customer_update
from tests.factories import make_connection, make_seat
from tests.queries import tables_read

pytestmark = pytest.mark.django_db


# The customer detail page's queries by the table each reads (customers/records/views.py says
# why each is there); their order is the view's business, their number is the test's.
DETAIL_QUERIES = [
    "django_session",
    "customers_user",
    "customers_membership",  # with "has a portal" as a subquery
    "customers_customer",  # with its plan, owner, invitation and contacts joined
    "customers_customeruser",  # seats: also the impact count and the seats gauge
    "customers_connection",  # also the impact count and the connected-accounts gauge
    "audit_execution",  # with the capped count of the last 7 days
    "billing_planlimit",
    "billing_customerlimitoverride",
    "billing_usagecounter",  # this window's counters
    "audit_event",  # events per day
    "customers_invitation",
    "audit_event",  # the newest events
    "audit_auditentry",
    "customers_ssoconnection",  # SAML certificates that expire within 30 days
]


def detail_url(customer):
    return f"/settings/customers/{customer.pk}/"


class TestCreate:
    def plan(self, org, name="Starter"):
        return str(Plan.objects.for_organization(org).get(name=name).pk)

    def test_it_creates_and_invites(self, owner_client, org, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                "/settings/customers/new",
                {
                    "name": "Katana Robotics",
                    "slug": "",
                    "external_id": "customer_777",
                    "plan": self.plan(org),
                    "admin_email": "boss@katana.test",
                },
            )
        customer = Customer.objects.for_organization(org).get()
        assert response.status_code == 302
        assert response["Location"] == detail_url(customer)
        assert customer.slug == "katana-robotics"
        assert customer.status == "pending_admin_activation"
        assert mail.outbox[0].to == ["boss@katana.test"]
        assert "/invite/" in mail.outbox[0].body

    def test_the_form_prefills_the_slug_from_the_name(self, owner_client, org):
        content = owner_client.get("/settings/customers/new").content.decode()
        assert 'data-slug-source="id_slug"' in content
        assert "data-slug-target" in content

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"slug": "acme-customer"}, "slug", "uses the slug"),
            ({"external_id": "customer_12345"}, "external_id", "uses the external ID"),
            ({"slug": "0b8e4bd4-2c55-4c5b-9d7e-4bbf36c5b1a2"}, "slug", "look like a UUID"),
            ({"admin_email": "not-an-email"}, "admin_email", "full email address"),
            ({"name": ""}, "name", "required"),
            ({"slug": "Not a slug!"}, "slug", "letters, numbers"),
        ],
    )
    def test_bad_input_gets_a_clear_message_and_keeps_what_was_typed(
        self, owner_client, org, customer, data, field, message
    ):
        typed = {
            "name": "Typed Name",
            "slug": "typed-slug",
            "external_id": "typed-ext",
            "plan": self.plan(org),
            "admin_email": "typed@x.test",
            **data,
        }
        response = owner_client.post("/settings/customers/new", typed)

        assert response.status_code == 422
        form = response.context["form"]
        assert message in " ".join(form.errors[field])
        content = response.content.decode()
        for value in typed.values():
            if value:
                assert f'value="{value}"' in content or value == typed["plan"]
        assert Customer.objects.for_organization(org).count() == 1

    def test_another_organizations_plan_is_not_a_choice(self, owner_client, org, other_org):
        theirs = str(Plan.objects.for_organization(other_org).first().pk)
        response = owner_client.post("/settings/customers/new", {"name": "X", "plan": theirs})
        assert response.status_code == 422
        assert "plan" in response.context["form"].errors


class TestDetail:
    def test_it_shows_everything_spec_section_3_lists(self, owner_client, customer, org):
        make_seat(customer, role="engineer", email="eng@acme.ai")
        make_connection(customer, app="Shopify", account_label="acme.myshopify.com")
        content = owner_client.get(detail_url(customer)).content.decode()

        for text in [
            "John-Acme",
            "Pending Admin Activation",
            "Free",  # header
            str(customer.pk),
            'data-copy="#customer-uuid"',
            "acme-customer",
            "customer_12345",
            f'"endOrgId": "{customer.pk}"',
            f"customer_id: {customer.pk}",  # identifiers
            "john@acme.ai",
            "Invite Pending",
            "Resend invite",
            "Revoke invite",  # admin
            "Contacts",
            "Billing",
            "Security",
            "Features",
            "read-only, from the plan",
            "eng@acme.ai",
            "Engineer",  # users
            "Connected Accounts",
            "Shopify",
            "acme.myshopify.com",
            "Danger Zone",
            "Suspend",
            "Revoke all",
            "Replace admin",
            "Delete customer",
            "Recent executions",
            "Audit trail",
            "customer.created",
        ]:
            assert text in content, text

    def test_dialogs_say_what_an_action_affects(self, owner_client, customer):
        make_seat(customer)
        make_connection(customer)
        content = owner_client.get(detail_url(customer)).content.decode()
        assert "1 user</strong>, <strong>1 connected account</strong>" in content
        assert "0 executions</strong> in the last 7 days" in content

    def test_query_count_is_fixed(self, owner_client, customer):
        """As many queries with 11 seats and connections as with 1, and the same tables."""

        def tables() -> list[str]:
            return tables_read(owner_client, detail_url(customer))

        make_seat(customer)
        make_connection(customer, app="App")
        few = tables()
        for n in range(10):
            make_seat(customer)
            make_connection(customer, app=f"App {n}")
        assert len(tables()) == len(few) == len(DETAIL_QUERIES) == 15
        assert Counter(few) == Counter(DETAIL_QUERIES), "\n".join(few)


class TestDangerZone:
    def test_suspend_and_reactivate(self, owner_client, customer, org):
        response = owner_client.post(f"{detail_url(customer)}suspend", follow=True)
        page = response.content.decode()
        assert f"{customer.name} is suspended." in page
        assert page.count("portal sign-in, its API keys and ingestion") == 1  # said once
        customer.refresh_from_db()
        assert customer.status == "suspended"
        owner_client.post(f"{detail_url(customer)}reactivate")
        customer.refresh_from_db()
        assert customer.status == "pending_admin_activation"

    def test_an_illegal_transition_shows_the_reason(self, owner_client, customer):
        response = owner_client.post(f"{detail_url(customer)}reactivate", follow=True)
        assert "is not suspended" in response.content.decode()

    def test_delete_needs_the_slug_typed(self, owner_client, customer):
        response = owner_client.post(f"{detail_url(customer)}delete", {"confirm_slug": "nope"})
        assert response.status_code == 422
        assert "Type “acme-customer” exactly" in response.content.decode()
        assert b'id="dialog-delete" aria-labelledby="dialog-delete-title" open' in response.content
        # Without JavaScript, Cancel must close a dialog the server opened: back to the page.
        page = response.content.decode()
        dialog = page[page.index('id="dialog-delete"') :]
        assert f'<a href="{detail_url(customer)}" class="button" data-dialog-close>Cancel' in dialog
        assert 'href="#" class="button" data-dialog-close' not in page
        assert (
            "open"
            not in owner_client.get(detail_url(customer))
            .content.decode()
            .split('id="dialog-delete"')[1]
            .split(">")[0]
        )
        assert customer.status == "pending_admin_activation"

    def test_delete_then_restore(self, owner_client, customer):
        owner_client.post(f"{detail_url(customer)}delete", {"confirm_slug": "acme-customer"})
        customer.refresh_from_db()
        assert customer.status == "deleted"
        page = owner_client.get(detail_url(customer)).content.decode()
        assert "can be restored until" in page
        owner_client.post(f"{detail_url(customer)}restore")
        customer.refresh_from_db()
        assert customer.status == "pending_admin_activation"

    def test_revoke_one_and_all_connections(self, owner_client, customer):
        first = make_connection(customer, app="Slack")
        make_connection(customer, app="HubSpot")
        owner_client.post(f"{detail_url(customer)}connections/{first.pk}/revoke")
        first.refresh_from_db()
        assert first.status == "revoked"
        response = owner_client.post(f"{detail_url(customer)}revoke-connections", follow=True)
        assert b"Revoked 1 connected account" in response.content

    def test_replace_admin(self, owner_client, customer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            owner_client.post(f"{detail_url(customer)}replace-admin", {"email": "new@acme.ai"})
        customer.refresh_from_db()
        assert customer.admin_email == "new@acme.ai"
        assert mail.outbox[-1].to == ["new@acme.ai"]

    def test_replace_admin_with_a_bad_email_reopens_the_dialog(self, owner_client, customer):
        response = owner_client.post(f"{detail_url(customer)}replace-admin", {"email": "x"})
        assert response.status_code == 422
        assert b"full email address" in response.content
        assert b'value="x"' in response.content

    def test_resend_and_revoke_invite(self, owner_client, customer):
        invitation = customer.admin_invitation
        base = f"{detail_url(customer)}invitations/{invitation.pk}/"
        owner_client.post(base + "resend")
        invitation.refresh_from_db()
        assert invitation.send_count == 2
        owner_client.post(base + "revoke")
        invitation.refresh_from_db()
        assert invitation.status == "revoked"


class TestEdit:
    def form_data(self, customer, **changes):
        """What the browser posts: every field, plus the value each had when shown."""
        from customers.records.forms import CustomerEditForm

        form = CustomerEditForm(instance=customer)
        data = {"version": customer.version}
        for name in form.fields:
            if name == "version":
                continue
            value = form[name].value()
            shown = "" if value is None else str(value)
            data[f"initial-{name}"] = shown
            if not isinstance(value, bool):
                data[name] = shown
            elif value:
                data[name] = "on"
        data.update(changes)
        return data

    def test_it_saves_and_audits(self, owner_client, customer, org):
        response = owner_client.post(
            f"{detail_url(customer)}edit",
            self.form_data(
                customer,
                phone_number="+44 20 7946 0000",
                force_2fa="on",
                ip_whitelist="10.0.0.0/8, 2001:db8::/32",
            ),
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.phone_number == "+44 20 7946 0000"
        assert customer.force_2fa
        assert customer.version == 2
        entry = AuditEntry.objects.for_organization(org).get(action="customer.updated")
        assert entry.changes["force_2fa"] == [False, True]

    def test_a_stale_form_is_refused_shows_the_change_and_keeps_the_input(
        self, owner_client, owner, customer
    ):
        stale = self.form_data(customer, billing_ref="PO-MINE")
        customer_update(
            customer=customer, actor=owner, expected_version=1, changes={"billing_ref": "PO-THEIRS"}
        )

        response = owner_client.post(f"{detail_url(customer)}edit", stale)

        assert response.status_code == 409
        content = response.content.decode()
        assert "Someone else saved this customer" in content
        assert "PO-THEIRS" in content
        assert 'value="PO-MINE"' in content
        customer.refresh_from_db()
        assert customer.billing_ref == "PO-THEIRS"
        # Saving again, with the other change in view, applies it.
        again = owner_client.post(
            f"{detail_url(customer)}edit", {**stale, "version": customer.version}
        )
        assert again.status_code == 302
        customer.refresh_from_db()
        assert customer.billing_ref == "PO-MINE"

    def test_bad_allow_list_is_refused_with_a_message(self, owner_client, customer):
        response = owner_client.post(
            f"{detail_url(customer)}edit", self.form_data(customer, ip_whitelist="10.0.0.1/8")
        )
        assert response.status_code == 422
        assert "host bits set" in response.content.decode()

    def test_a_taken_slug_is_refused_on_edit(self, owner_client, org, owner, customer):
        from tests.factories import make_customer

        make_customer(org, actor=owner, slug="taken")
        response = owner_client.post(
            f"{detail_url(customer)}edit", self.form_data(customer, slug="taken")
        )
        assert response.status_code == 422
        assert "uses the slug “taken”" in response.content.decode()

    def test_contacts_are_chosen_from_the_customers_users_only(
        self, owner_client, org, owner, customer
    ):
        from tests.factories import make_customer

        mine = make_seat(customer, email="billing@acme.ai")
        theirs = make_seat(make_customer(org, actor=owner), email="other@else.test")
        page = owner_client.get(f"{detail_url(customer)}edit").content.decode()
        assert "billing@acme.ai" in page
        assert "other@else.test" not in page
        bad = owner_client.post(
            f"{detail_url(customer)}edit", self.form_data(customer, billing_contact=theirs.pk)
        )
        assert bad.status_code == 422
        owner_client.post(
            f"{detail_url(customer)}edit", self.form_data(customer, billing_contact=mine.pk)
        )
        customer.refresh_from_db()
        assert customer.billing_contact == mine

    def test_a_deleted_customer_cannot_be_edited(self, owner_client, owner, customer):
        customer_delete(customer=customer, actor=owner)
        response = owner_client.get(f"{detail_url(customer)}edit", follow=True)
        assert b"restore it before editing" in response.content


def test_a_resave_after_a_conflict_keeps_both_peoples_changes(owner_client, owner, customer):
    shown = TestEdit().form_data(customer, phone_number="+1 555 0199")  # I change the phone
    customer_update(  # meanwhile someone changes the billing reference
        customer=customer, actor=owner, expected_version=1, changes={"billing_ref": "PO-9"}
    )
    refused = owner_client.post(f"/settings/customers/{customer.pk}/edit", shown)
    assert refused.status_code == 409
    merged = refused.context["form"]
    assert merged["billing_ref"].value() == "PO-9"  # theirs kept where I changed nothing
    assert merged["phone_number"].value() == "+1 555 0199"  # mine kept

    resubmit = merged.data.dict()  # what the re-rendered page posts back
    assert owner_client.post(f"/settings/customers/{customer.pk}/edit", resubmit).status_code == 302
    customer.refresh_from_db()
    assert customer.billing_ref == "PO-9"
    assert customer.phone_number == "+1 555 0199"


def test_a_viewer_sees_no_links_to_pages_they_may_not_use(viewer_client, org):
    content = viewer_client.get("/").content.decode()
    assert "/settings/customers/new" not in content
    assert "Create an API key" not in content
    assert "read-only" in content
