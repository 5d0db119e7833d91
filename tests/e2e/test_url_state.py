"""Controls outside the swapped region agree with the URL after every swap (Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from customers.services import customer_suspend
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sort_then_filter_then_export_keep_the_state(page, live_server, owner, org):
    for n in range(3):
        make_customer(org, actor=owner, name=f"Zeta {n}")
    customer_suspend(customer=make_customer(org, actor=owner, name="Alpha"), actor=owner)
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/customers/")

    page.get_by_role("link", name="Created").first.click()
    expect(page).to_have_url(re.compile(r"sort="))
    sorted_url = page.url
    page.get_by_label("Status").select_option(label="Active")
    expect(page).to_have_url(re.compile(r"status="))
    sort = re.search(r"sort=([^&]+)", sorted_url).group(1)
    assert f"sort={sort}" in page.url  # the filter change kept the sort

    page.goto(f"{live_server.url}/settings/audit-log/")
    page.get_by_label("Action type").select_option(label="Any customer action")
    expect(page).to_have_url(re.compile(r"action=customer"))
    export = page.get_by_role("link", name="Export CSV of these filters")
    expect(export).to_have_attribute("href", re.compile(r"export\.csv\?.*action=customer"))
