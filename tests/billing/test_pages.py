"""Settings → Billing and Customize Customer Limits."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from billing.models import Plan, PlanLimit, PooledCap
from billing.services import consume, effective_limit, override_set
from tests.factories import make_customer

pytestmark = pytest.mark.django_db
GRID = "/settings/billing/customer-limits/"


def cell_url(customer, dimension="events_per_day"):
    return f"{GRID}{customer.pk}/{dimension}/"


class TestOverview:
    def test_it_shows_plans_dimensions_entitlements_and_caps(self, owner_client, org):
        content = owner_client.get("/settings/billing/").content.decode()
        for text in [
            "Free",
            "Enterprise",
            "Events per day",
            "API requests per minute",
            "Can upload VCL",
            "Pooled caps",
            "1,000",
        ]:
            assert text in content

    def test_changing_a_default_first_shows_who_would_be_over(self, owner_client, org, owner, acme):
        consume(acme, "events_per_day", 50)
        free = Plan.objects.for_organization(org).get(name="Free")
        data = {"form": "plan", "plan": str(free.pk), "dimension": "events_per_day", "value": "10"}

        preview = owner_client.post("/settings/billing/", data)

        assert preview.status_code == 200
        assert "1 customer would be over the new limit" in preview.content.decode()
        assert "Acme Co" in preview.content.decode()
        assert effective_limit(acme, "events_per_day") == 1000  # not applied yet
        applied = owner_client.post("/settings/billing/", {**data, "confirm": "1"})
        assert applied.status_code == 302
        assert effective_limit(acme, "events_per_day") == 10
        assert AuditEntry.objects.for_organization(org).filter(action="plan_limit.changed")

    def test_a_change_nobody_is_over_applies_at_once(self, owner_client, org):
        free = Plan.objects.for_organization(org).get(name="Free")
        owner_client.post(
            "/settings/billing/",
            {"form": "plan", "plan": str(free.pk), "dimension": "seats", "value": ""},
        )
        assert (
            PlanLimit.objects.for_organization(org).get(plan=free, dimension="seats").value is None
        )

    def test_negative_values_get_a_clear_message(self, owner_client, org):
        free = Plan.objects.for_organization(org).get(name="Free")
        response = owner_client.post(
            "/settings/billing/",
            {"form": "plan", "plan": str(free.pk), "dimension": "seats", "value": "-4"},
        )
        assert response.status_code == 422
        assert "cannot be negative" in response.content.decode()

    def test_pooled_cap(self, owner_client, org):
        owner_client.post(
            "/settings/billing/", {"form": "cap", "dimension": "events_per_day", "value": "5000"}
        )
        assert PooledCap.objects.for_organization(org).get().value == 5000
        owner_client.post(
            "/settings/billing/", {"form": "cap", "dimension": "events_per_day", "value": ""}
        )
        assert not PooledCap.objects.for_organization(org).exists()

    def test_changing_a_plans_entitlements_moves_its_customers_too(self, owner_client, org, acme):
        free = Plan.objects.for_organization(org).get(name="Free")
        version = acme.version
        response = owner_client.post(
            "/settings/billing/",
            {
                "form": "entitlements",
                "plan": str(free.pk),
                "can_upload_vcl": "on",
                "has_pci_passwords": "on",
            },
        )
        assert response.status_code == 302
        free.refresh_from_db()
        acme.refresh_from_db()
        assert (free.can_upload_vcl, free.has_pci_passwords) == (True, True)
        assert (acme.can_upload_vcl, acme.has_pci_passwords) == (True, True)
        assert acme.version == version + 1
        entry = AuditEntry.objects.for_organization(org).get(action="plan.entitlements_changed")
        assert entry.changes == {
            "can_upload_vcl": [False, True],
            "has_pci_passwords": [False, True],
        }

    def test_each_plans_form_starts_from_its_current_entitlements(self, owner_client, org):
        pro = Plan.objects.for_organization(org).get(name="Pro")
        content = owner_client.get("/settings/billing/").content.decode()
        at = content.index(f'id="entitlements-{pro.pk}-can_upload_vcl"')
        box = content[content.rindex("<input", 0, at) : content.index(">", at)]
        assert "checked" in box

    def test_submitting_a_plans_form_unchanged_changes_nothing(self, owner_client, org, acme):
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        before = enterprise.entitlements()
        assert all(before.values())
        unchanged = {"form": "entitlements", "plan": str(enterprise.pk)}
        unchanged.update(dict.fromkeys(before, "on"))
        response = owner_client.post("/settings/billing/", unchanged)
        assert response.status_code == 302
        enterprise.refresh_from_db()
        assert enterprise.entitlements() == before
        assert not AuditEntry.objects.for_organization(org).filter(
            action="plan.entitlements_changed"
        )

    def test_unticking_one_box_changes_that_one_only(self, owner_client, org):
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        body = {"form": "entitlements", "plan": str(enterprise.pk)}
        body.update({field: "on" for field in enterprise.entitlements() if field != "has_pci"})
        body.pop("can_upload_vcl")
        owner_client.post("/settings/billing/", body)
        enterprise.refresh_from_db()
        assert enterprise.can_upload_vcl is False
        assert sum(enterprise.entitlements().values()) == len(enterprise.entitlements()) - 1
        entry = AuditEntry.objects.for_organization(org).get(action="plan.entitlements_changed")
        assert entry.changes == {"can_upload_vcl": [True, False]}

    def test_another_organizations_plan_is_404(self, owner_client, other_org):
        theirs = Plan.objects.for_organization(other_org).get(name="Free")
        response = owner_client.post(
            "/settings/billing/", {"form": "entitlements", "plan": str(theirs.pk)}
        )
        assert response.status_code == 404

    def test_limits_beyond_what_a_counter_holds_are_refused_by_name(self, owner_client, org):
        free = Plan.objects.for_organization(org).get(name="Free")
        for body in (
            {"form": "plan", "plan": str(free.pk), "dimension": "events_per_day"},
            {"form": "cap", "dimension": "events_per_day"},
        ):
            response = owner_client.post("/settings/billing/", {**body, "value": "9" * 30})
            assert response.status_code == 422
            assert "more than any limit can hold" in response.content.decode()

    def test_viewers_read_but_cannot_change(self, viewer_client, org):
        assert viewer_client.get("/settings/billing/").status_code == 200
        assert viewer_client.post("/settings/billing/", {"form": "cap"}).status_code == 403


class TestGrid:
    def test_cells_show_effective_value_override_mark_default_and_usage(
        self, owner_client, owner, acme
    ):
        override_set(
            customer=acme, dimension="events_per_day", value=5000, reason="VIP", actor=owner
        )
        consume(acme, "events_per_day", 7)
        content = owner_client.get(GRID).content.decode()
        cell = content[content.index(f'id="cell-{acme.pk}-events_per_day"') :]
        cell = cell[: cell.index("</td>")]
        assert "5,000" in cell
        assert "overridden" in cell
        assert "plan: 1,000" in cell
        assert "7 used" in cell

    def test_search_and_plan_filter(self, owner_client, org, owner, acme):
        make_customer(org, actor=owner, name="Pro Corp", plan="Pro")
        pro = Plan.objects.for_organization(org).get(name="Pro")
        assert [c.name for c, _ in owner_client.get(GRID, {"q": "acme"}).context["grid"]] == [
            "Acme Co"
        ]
        assert [
            c.name for c, _ in owner_client.get(GRID, {"plan": str(pro.pk)}).context["grid"]
        ] == ["Pro Corp"]

    def test_htmx_gets_the_grid_and_a_plain_request_the_page(self, owner_client, acme):
        fragment = owner_client.get(GRID, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="grid")
        assert fragment.content.decode().lstrip().startswith('<section id="grid"')
        assert b"<html" in owner_client.get(GRID).content

    @pytest.mark.parametrize("rows", [5, 25])
    def test_query_count_does_not_grow_with_rows(
        self, owner_client, org, owner, rows, django_assert_max_num_queries
    ):
        for _ in range(rows):
            make_customer(org, actor=owner)
        with django_assert_max_num_queries(12):
            owner_client.get(GRID)


class TestInlineEditor:
    def test_htmx_get_returns_the_editor_cell(self, owner_client, acme):
        response = owner_client.get(cell_url(acme), HTTP_HX_REQUEST="true")
        content = response.content.decode()
        assert content.lstrip().startswith("<td")
        assert 'name="reason"' in content
        assert "<html" not in content

    def test_cancel_answers_with_the_read_only_cell(self, owner_client, viewer_client, acme):
        response = owner_client.get(cell_url(acme) + "?show=cell", HTTP_HX_REQUEST="true")
        content = response.content.decode()
        assert content.lstrip().startswith("<td")
        assert 'class="limit-control"' in content
        assert 'name="reason"' not in content
        assert viewer_client.get(cell_url(acme) + "?show=cell").status_code == 403

    def test_a_plain_get_returns_a_whole_page_that_works_without_js(self, owner_client, acme):
        response = owner_client.get(cell_url(acme))
        assert b"<html" in response.content
        saved = owner_client.post(
            cell_url(acme), {"action": "set", "value": "2000", "reason": "Big launch"}
        )
        assert saved.status_code == 302
        assert effective_limit(acme, "events_per_day") == 2000

    def test_htmx_post_saves_audits_and_returns_the_new_cell(self, owner_client, org, acme):
        response = owner_client.post(
            cell_url(acme),
            {"action": "set", "value": "2500", "reason": "Big launch"},
            HTTP_HX_REQUEST="true",
        )
        content = response.content.decode()
        assert response.status_code == 200
        assert "2,500" in content
        assert "overridden" in content
        entry = AuditEntry.objects.for_organization(org).get(action="limit.changed")
        assert entry.changes == {"events_per_day": [1000, 2500]}

    def test_unlimited_with_expiry_and_reset(self, owner_client, acme):
        owner_client.post(
            cell_url(acme),
            {"action": "unlimited", "reason": "Trial", "expires_at": "2099-01-01T00:00"},
            HTTP_HX_REQUEST="true",
        )
        assert effective_limit(acme, "events_per_day") is None
        owner_client.post(cell_url(acme), {"action": "reset"}, HTTP_HX_REQUEST="true")
        assert effective_limit(acme, "events_per_day") == 1000

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"action": "set", "value": "-5", "reason": "x"}, "cannot be negative"),
            ({"action": "set", "value": "lots", "reason": "x"}, "whole number"),
            ({"action": "set", "value": "", "reason": "x"}, "Enter the new limit"),
            ({"action": "set", "value": "5"}, "Say why"),
            (
                {"action": "set", "value": "5", "reason": "x", "expires_at": "2001-01-01T00:00"},
                "must be in the future",
            ),
        ],
    )
    def test_bad_input_is_refused_in_place_and_kept(self, owner_client, acme, data, message):
        response = owner_client.post(cell_url(acme), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        content = response.content.decode()
        assert message in content
        assert content.lstrip().startswith("<td")
        if data.get("value"):
            assert f'value="{data["value"]}"' in content
        assert effective_limit(acme, "events_per_day") == 1000

    def test_a_cap_below_usage_is_allowed_with_a_warning(self, owner_client, acme):
        consume(acme, "events_per_day", 30)
        response = owner_client.post(
            cell_url(acme),
            {"action": "set", "value": "10", "reason": "Abuse"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert "more than the new limit" in response.content.decode()  # out-of-band message
        assert effective_limit(acme, "events_per_day") == 10

    def test_another_organizations_customer_is_404(self, owner_client, other_org, outsider):
        theirs = make_customer(other_org, actor=outsider)
        assert owner_client.get(cell_url(theirs)).status_code == 404
        assert owner_client.post(cell_url(theirs), {"action": "reset"}).status_code == 404

    def test_an_unknown_dimension_is_404(self, owner_client, acme):
        assert owner_client.get(cell_url(acme, "bananas")).status_code == 404

    def test_viewers_get_403(self, viewer_client, acme):
        assert viewer_client.get(cell_url(acme)).status_code == 403
        assert viewer_client.post(cell_url(acme), {"action": "reset"}).status_code == 403
        assert b"Edit" not in viewer_client.get(GRID).content.split(b"<main")[1]


def test_the_customer_detail_shows_usage_bars_and_a_chart(owner_client, acme):
    from audit.activity.ingestion import events_ingest

    events_ingest(
        customer=acme, items=[{"type": "webhook", "direction": "incoming", "name": "x"}] * 3
    )
    content = owner_client.get(f"/settings/customers/{acme.pk}/").content.decode()
    assert "Usage and limits" in content
    assert "Events per day: 3 of 1,000 used" in content
    assert "<svg" in content
    assert "3 in all" in content
    assert "Show as a table" in content


def test_an_override_beyond_what_a_counter_holds_is_refused_in_the_grid(owner_client, acme):
    response = owner_client.post(
        f"/settings/billing/customer-limits/{acme.pk}/events_per_day/",
        {"action": "set", "value": str(2**63), "reason": "huge"},
    )
    assert response.status_code == 422
    assert "more than any limit can hold" in response.content.decode()


def test_the_override_editor_does_not_call_the_reason_optional(owner_client, acme):
    content = owner_client.get(
        f"/settings/billing/customer-limits/{acme.pk}/events_per_day/"
    ).content.decode()
    reason = content[content.index(">Reason") :][:80]
    assert "(optional)" not in reason
    assert "(optional) (optional)" not in content
    assert "Expires (UTC) <span" in content
