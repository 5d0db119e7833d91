"""Activity → Executions and Events, and Settings → Audit Log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from audit.export import spreadsheet_safe
from audit.models import AuditEntry, Event, Execution, Workflow
from audit.trail.services import record
from customers.platform.keyset import keyset_page
from tests.conftest import requires_postgres
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(org, owner):
    acme = make_customer(org, actor=owner, name="Acme Co")
    widget = make_customer(org, actor=owner, name="Widget Inc")
    sync = Workflow.objects.create(organization=org, name="Sync orders")
    digest = Workflow.objects.create(organization=org, name="Daily digest")
    now = timezone.now()
    Execution.objects.bulk_create(
        [
            Execution(
                organization=org,
                customer=acme,
                workflow=sync,
                triggered_by="webhook",
                status="succeeded",
                started_at=now - timedelta(hours=1),
                duration_ms=1200,
            ),
            Execution(
                organization=org,
                customer=widget,
                workflow=digest,
                triggered_by="scheduler",
                status="failed",
                started_at=now - timedelta(days=3),
                duration_ms=800,
                error="Upstream answered 502",
            ),
            Execution(
                organization=org,
                customer=acme,
                workflow=digest,
                triggered_by="manual",
                status="running",
                started_at=now - timedelta(minutes=5),
            ),
        ]
    )
    Event.objects.bulk_create(
        [
            Event(
                organization=org,
                customer=acme,
                type="webhook",
                direction="incoming",
                name="order.created",
                occurred_at=now - timedelta(minutes=1),
            ),
            Event(
                organization=org,
                customer=widget,
                type="scheduled",
                direction="outgoing",
                name="digest.sent",
                occurred_at=now - timedelta(days=2),
            ),
            Event(
                organization=org,
                customer=acme,
                type="manual",
                direction="outgoing",
                name="sync.started",
                occurred_at=now - timedelta(days=10),
            ),
        ]
    )
    return {"acme": acme, "widget": widget, "sync": sync, "digest": digest}


def names(response, attr):
    return [attr(row) for row in response.context["page"].rows]


class TestExecutions:
    URL = "/activity/executions/"

    def test_columns_and_newest_first(self, owner_client, activity):
        response = owner_client.get(self.URL)
        content = response.content.decode()
        for header in ["Started", "Workflow", "Customer", "Triggered By", "Status", "Duration"]:
            assert f">{header}</th>" in content
        assert names(response, lambda e: e.workflow.name) == [
            "Daily digest",
            "Sync orders",
            "Daily digest",
        ]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"triggered_by": "webhook"}, ["Sync orders"]),
            ({"status": "failed"}, ["Daily digest"]),
        ],
    )
    def test_filters(self, owner_client, activity, params, expected):
        assert names(owner_client.get(self.URL, params), lambda e: e.workflow.name) == expected

    def test_workflow_customer_and_date_filters(self, owner_client, activity):
        by_workflow = owner_client.get(self.URL, {"workflow": str(activity["sync"].pk)})
        assert names(by_workflow, lambda e: e.customer.name) == ["Acme Co"]
        by_customer = owner_client.get(self.URL, {"customer": str(activity["widget"].pk)})
        assert names(by_customer, lambda e: e.status) == ["failed"]
        today = timezone.now().date().isoformat()
        recent = owner_client.get(self.URL, {"started_after": today, "started_before": today})
        assert len(recent.context["page"].rows) <= 2

    def test_the_customer_box_submitted_filters_by_the_words_typed(self, owner_client, activity):
        # Enter, Apply or a browser without JavaScript send the box's words, not an id.
        typed = owner_client.get(self.URL, {"customer_q": "widg", "status": "failed"})
        assert names(typed, lambda e: e.customer.name) == ["Widget Inc"]
        assert 'value="widg"' in typed.content.decode()  # the box keeps what was typed
        nothing = owner_client.get(self.URL, {"customer_q": "no such customer"})
        assert names(nothing, lambda e: e.customer.name) == []

    def test_a_from_date_after_the_to_date_is_explained(self, owner_client, activity):
        response = owner_client.get(
            self.URL, {"started_after": "2026-11-20", "started_before": "2026-11-01"}
        )
        assert response.status_code == 200
        assert "The “from” date is after the “to” date." in response.content.decode()

    def test_bad_filter_values_are_explained_not_500(self, owner_client, activity):
        response = owner_client.get(self.URL, {"started_after": "2026-13-40", "workflow": "x"})
        assert response.status_code == 200
        assert "Enter a valid date" in response.content.decode()

    def test_the_drawer_is_a_fragment_for_htmx_and_a_page_without(
        self, owner_client, org, activity
    ):
        failed = Execution.objects.for_organization(org).get(status="failed")
        fragment = owner_client.get(f"{self.URL}{failed.pk}/", HTTP_HX_REQUEST="true")
        assert b"<html" not in fragment.content
        assert b"Upstream answered 502" in fragment.content
        assert b"<html" in owner_client.get(f"{self.URL}{failed.pk}/").content

    def test_htmx_filters_get_the_results_fragment(self, owner_client, activity):
        response = owner_client.get(
            self.URL, {"status": "failed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
        )
        assert response.content.decode().lstrip().startswith('<section id="results"')

    @pytest.mark.parametrize("rows", [5, 60])
    def test_query_count_is_constant(
        self, owner_client, org, activity, rows, django_assert_max_num_queries
    ):
        now = timezone.now()
        Execution.objects.bulk_create(
            Execution(
                organization=org,
                customer=activity["acme"],
                workflow=activity["sync"],
                triggered_by="webhook",
                started_at=now - timedelta(seconds=n),
            )
            for n in range(rows)
        )
        with django_assert_max_num_queries(8):
            owner_client.get(self.URL)

    def test_customer_lookup_is_search_as_you_type_and_scoped(
        self, owner_client, activity, other_org, outsider
    ):
        make_customer(other_org, actor=outsider, name="Acme Elsewhere")
        content = owner_client.get("/activity/customers/", {"q": "acm"}).content.decode()
        assert "Acme Co" in content
        assert "Acme Elsewhere" not in content


class TestEvents:
    URL = "/activity/events/"

    @pytest.mark.parametrize(
        ("tab", "expected"),
        [
            ("", ["order.created", "digest.sent", "sync.started"]),
            ("webhook", ["order.created"]),
            ("scheduled", ["digest.sent"]),
            ("manual", ["sync.started"]),
        ],
    )
    def test_tabs(self, owner_client, activity, tab, expected):
        response = owner_client.get(self.URL, {"type": tab} if tab else {})
        assert names(response, lambda e: e.name) == expected
        for label in ["All", "Webhook", "Scheduled", "Manual"]:
            assert f">{label}</a>" in response.content.decode()

    def test_direction_customer_and_dates(self, owner_client, activity):
        assert names(owner_client.get(self.URL, {"direction": "outgoing"}), lambda e: e.name) == [
            "digest.sent",
            "sync.started",
        ]
        assert names(
            owner_client.get(self.URL, {"customer": str(activity["widget"].pk)}), lambda e: e.name
        ) == ["digest.sent"]
        since = (timezone.now() - timedelta(days=5)).date().isoformat()
        assert "sync.started" not in names(
            owner_client.get(self.URL, {"occurred_after": since}), lambda e: e.name
        )


class TestKeyset:
    def test_no_duplicates_or_gaps_when_timestamps_are_equal(self, org, activity):
        moment = timezone.now() - timedelta(days=1)
        Execution.objects.bulk_create(
            Execution(
                organization=org,
                customer=activity["acme"],
                workflow=activity["sync"],
                triggered_by="webhook",
                started_at=moment,
            )
            for _ in range(23)
        )
        queryset = Execution.objects.for_organization(org)

        def page(**params):
            query = QueryDict(mutable=True)
            query.update(params)
            return keyset_page(queryset, "started_at", query, size=5)

        pages = [page()]
        while pages[-1].older:
            pages.append(page(before=pages[-1].older))
        seen = [row.pk for p in pages for row in p.rows]
        assert len(seen) == len(set(seen)) == queryset.count()
        # "Newer" from the third page gives back exactly the second.
        assert [r.pk for r in page(after=pages[2].newer).rows] == [r.pk for r in pages[1].rows]
        assert pages[0].newer is None

    def test_garbage_cursors_mean_the_first_page(self, owner_client, activity):
        response = owner_client.get("/activity/executions/", {"before": "x'; DROP"})
        assert response.status_code == 200
        assert len(response.context["page"].rows) == 3


@requires_postgres
def test_the_page_query_is_an_index_range_scan(org, activity):
    """The redundant ``started_at <= x`` bound becomes the index condition
    (customers/platform/keyset.py)."""
    moment = timezone.now()
    page_query = (
        Execution.objects.for_organization(org)
        .filter(started_at__lte=moment)
        .filter(Q(started_at__lt=moment) | Q(started_at=moment, pk__lt=10**9))
        .order_by("-started_at", "-pk")[:51]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned
    plan = page_query.explain()
    assert "exec_org_time" in plan, plan
    condition = plan.split("Index Cond:")[1].split("\n")[0]
    assert "organization_id" in condition, plan
    assert "started_at <=" in condition, plan


class TestAuditLog:
    URL = "/settings/audit-log/"

    def test_columns_and_system_marks(self, owner_client, org, owner):
        record(action="customer.purged", organization=org, resource_label="Gone Co")
        content = owner_client.get(self.URL).content.decode()
        for header in ["Timestamp", "User", "Action", "Resource", "Outcome"]:
            assert f">{header}</th>" in content
        assert ">system</span>" in content

    def test_filters(self, owner_client, org, owner, activity):
        acme = activity["acme"]
        record(
            action="customer.suspended",
            organization=org,
            actor=owner,
            resource=acme,
            outcome="failure",
        )
        by_action = owner_client.get(self.URL, {"action": "customer"})
        assert {e.action.split(".")[0] for e in by_action.context["page"].rows} == {"customer"}
        exact = owner_client.get(self.URL, {"action": "customer.suspended"})
        assert [e.action for e in exact.context["page"].rows] == ["customer.suspended"]
        by_user = owner_client.get(self.URL, {"user": owner.email.upper()})
        assert all(e.actor_label == owner.email for e in by_user.context["page"].rows)
        by_resource = owner_client.get(
            self.URL, {"resource_type": "customer", "resource_id": str(acme.pk)}
        )
        assert {e.resource_id for e in by_resource.context["page"].rows} == {str(acme.pk)}
        failed = owner_client.get(self.URL, {"outcome": "failure"})
        assert [e.action for e in failed.context["page"].rows] == ["customer.suspended"]
        tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
        assert owner_client.get(self.URL, {"date_after": tomorrow}).context["page"].rows == []

    def test_only_the_organizations_entries(self, owner_client, org, other_org):
        record(action="secret.thing", organization=other_org)
        assert b"secret.thing" not in owner_client.get(self.URL).content

    def test_csv_export_streams_the_filtered_set_escaped_and_is_audited(
        self, owner_client, org, owner
    ):
        record(
            action="customer.updated",
            organization=org,
            actor=owner,
            resource_label='=HYPERLINK("http://evil")',
            message="+cmd|' /C calc'!A0",
        )
        response = owner_client.get(f"{self.URL}export.csv", {"action": "customer.updated"})
        assert response.streaming
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[0][0] == "Timestamp (UTC)"
        assert len(rows) == 2
        assert rows[1][5].startswith("'=HYPERLINK")
        assert rows[1][8].startswith("'+cmd")
        assert AuditEntry.objects.for_organization(org).filter(action="audit_log.exported").exists()

    @pytest.mark.parametrize(
        ("value", "safe"),
        [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("plain", "plain"),
            (None, ""),
        ],
    )
    def test_spreadsheet_safe(self, value, safe):
        assert spreadsheet_safe(value) == safe


@pytest.mark.parametrize(
    "path",
    [
        "/activity/executions/",
        "/activity/events/",
        "/settings/audit-log/",
        "/settings/audit-log/export.csv",
    ],
)
def test_viewers_can_read(viewer_client, path):
    assert viewer_client.get(path).status_code == 200


def test_another_organizations_execution_is_404(outsider_client, org, activity):
    execution = Execution.objects.for_organization(org).first()
    assert outsider_client.get(f"/activity/executions/{execution.pk}/").status_code == 404


def test_the_customer_detail_links_to_its_filtered_activity(owner_client, activity):
    acme = activity["acme"]
    content = owner_client.get(f"/settings/customers/{acme.pk}/").content.decode()
    assert f"/activity/executions/?customer={acme.pk}" in content
    assert f"/activity/events/?customer={acme.pk}" in content
    assert f"resource_id={acme.pk}" in content


class TestInputThatMustNotReachTheDatabase:
    @pytest.mark.parametrize(
        "target",
        ["javascript:alert(1)", "https://other.example/", "//other.example/", "/admin/"],
    )
    def test_the_lookup_links_only_to_activity_pages(self, owner_client, activity, target):
        content = owner_client.get(
            "/activity/customers/", {"q": "acm", "for": target}
        ).content.decode()
        assert target not in content
        assert 'href="/activity/executions/?customer=' in content

    def test_the_lookup_links_back_to_events(self, owner_client, activity):
        content = owner_client.get(
            "/activity/customers/", {"q": "acm", "for": "/activity/events/"}
        ).content.decode()
        assert 'href="/activity/events/?customer=' in content

    @pytest.mark.parametrize(
        "path",
        ["/settings/audit-log/", "/settings/audit-log/export.csv", "/activity/events/"],
    )
    @pytest.mark.parametrize("field", ["user", "action", "resource_id", "date_after", "cursor"])
    def test_nul_in_a_filter_is_400_naming_it(self, owner_client, activity, path, field):
        response = owner_client.get(path, {field: "a\x00b"})
        assert response.status_code == 400
        assert f"“{field}” contains a NUL character" in response.content.decode()

    def test_search_terms_are_capped(self, owner_client, activity):
        response = owner_client.get("/activity/customers/", {"q": "x" * 60_000})
        assert response.status_code == 400
        assert "at most 200 characters" in response.content.decode()


class TestCustomerLookup:
    def test_the_box_on_the_activity_pages_gets_suggestions(self, owner_client, activity):
        response = owner_client.get(
            "/activity/customers/",
            {"customer_q": "acm", "for": "/activity/events/"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="customer-matches",
        )
        content = response.content.decode()
        assert "Acme Co" in content
        assert "<html" not in content  # just the fragment

    def test_a_suggestion_keeps_the_pages_other_filters(self, owner_client, activity):
        response = owner_client.get(
            "/activity/customers/",
            {"customer_q": "acm", "for": "/activity/executions/", "status": "failed"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="customer-matches",
        )
        link = f"/activity/executions/?status=failed&amp;customer={activity['acme'].pk}"
        assert link in response.content.decode()

    def test_a_direct_visit_gets_a_whole_page(self, owner_client, activity):
        content = owner_client.get("/activity/customers/", {"q": "acm"}).content.decode()
        assert "<html" in content
        assert "<title>" in content
        assert "Acme Co" in content

    def test_the_box_never_pushes_the_fragments_url(self, owner_client, activity):
        content = owner_client.get("/activity/executions/").content.decode()
        box = content[content.index('id="customer-search"') :]
        box = box[: box.index(">")]
        assert 'hx-push-url="false"' in box


class TestControlsFollowTheUrl:
    def test_the_export_link_is_in_the_swapped_results_and_carries_the_filters(
        self, owner_client, activity
    ):
        response = owner_client.get(
            "/settings/audit-log/",
            {"action": "customer", "before": "1~1"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="results",
        )
        content = response.content.decode()
        assert "/settings/audit-log/export.csv?action=customer" in content
        assert "before=" not in content.split("export.csv", 1)[1].split('"', 1)[0]
        export = owner_client.get("/settings/audit-log/export.csv?action=customer")
        rows = b"".join(export.streaming_content).decode()
        assert "Filters: none" not in rows
