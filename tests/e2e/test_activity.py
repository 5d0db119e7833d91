"""Filter executions, open a row's drawer and page to older results, in Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import Execution, Workflow
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_open_the_drawer_and_page_older(page, owner, org):
    acme = make_customer(org, actor=owner, name="Acme Co")
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
                status="failed" if n == 0 else "succeeded",
                error="Upstream said 502",
                started_at=now - timedelta(minutes=n),
                duration_ms=100 + n,
            )
            for n in range(60)
        ]
        + [
            Execution(
                organization=org,
                customer=acme,
                workflow=digest,
                triggered_by="scheduler",
                status="succeeded",
                started_at=now - timedelta(seconds=30),
            )
        ]
    )
    sign_in(page, owner.email, PASSWORD)
    page.goto("/activity/executions/")

    page.get_by_label("Workflow").select_option(label="Sync orders")
    page.wait_for_url("**workflow=*")
    page.get_by_label("Triggered By").select_option("webhook")
    page.wait_for_url("**triggered_by=webhook*")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#results")).not_to_contain_text("Daily digest")

    rows.first.get_by_role("link").first.click()
    drawer = page.locator("#drawer")
    expect(drawer).to_contain_text("Upstream said 502")
    expect(drawer).to_contain_text("webhook")

    page.get_by_role("link", name="Older →").click()
    expect(rows).to_have_count(10)
    assert "before=" in page.url
    page.get_by_role("link", name="← Newer").click()
    expect(rows).to_have_count(50)
