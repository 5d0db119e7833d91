"""Raise one customer's events-per-day limit inline, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billing.services import effective_limit
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_raise_an_override_inline(page, owner, org):
    customer = make_customer(org, actor=owner, name="Acme Co", plan="Free")
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/billing/customer-limits/")

    cell = page.locator(f"#cell-{customer.pk}-events_per_day")
    assert "1,000" in cell.inner_text()
    assert "overridden" not in cell.inner_text()

    cell.get_by_role("link", name="Edit Events per day of Acme Co").click()
    editor = page.locator(f"#cell-{customer.pk}-events_per_day form")
    editor.get_by_label("New limit").fill("25000")
    editor.get_by_label("Reason").fill("Black Friday")
    editor.get_by_role("button", name="Save").click()

    # (Our CSP forbids eval, so wait with a locator, not with wait_for_function.)
    expect(page.locator(f"#cell-{customer.pk}-events_per_day .limit-value")).to_contain_text(
        "25,000"
    )
    cell = page.locator(f"#cell-{customer.pk}-events_per_day")
    assert "overridden" in cell.inner_text()
    assert "plan: 1,000" in cell.inner_text()
    assert "/settings/billing/customer-limits/" in page.url  # stayed on the grid
    assert effective_limit(customer, "events_per_day") == 25000
    assert page.get_by_text("Events per day saved").is_visible()


def test_cancel_puts_back_the_one_cell_and_keeps_the_grid(page, owner, org):
    customers = [make_customer(org, actor=owner, name=f"Grid {n}") for n in range(3)]
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/billing/customer-limits/")
    expect(page.locator("#grid tbody tr")).to_have_count(3)

    first = customers[0]
    page.get_by_role("link", name=f"Edit Seats (users) of {first.name}").click()
    editor = page.locator(f"#cell-{first.pk}-seats form")
    expect(editor).to_be_visible()
    expect(editor.locator(":focus")).to_have_count(1)  # the keyboard moved into the editor
    editor.get_by_role("link", name="Cancel").click()

    expect(page.locator(f"#cell-{first.pk}-seats form")).to_have_count(0)
    expect(page.locator("#grid tbody tr")).to_have_count(3)  # not shrunk to one customer
    expect(page.locator("#limits-q")).to_have_value("")
    focused = page.get_by_role("link", name=f"Edit Seats (users) of {first.name}")
    expect(focused).to_be_focused()  # back on the cell that was edited


def test_the_first_click_after_typing_a_search_opens_the_editor(page, owner, org):
    """Leaving the search box used to reload the grid (a "change") under the click that
    opened an editor, so the first click did nothing."""
    wanted = make_customer(org, actor=owner, name="Wanted Co")
    make_customer(org, actor=owner, name="Other Co")
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/billing/customer-limits/")
    page.locator("#limits-q").fill("Wanted")
    expect(page.locator("#grid tbody tr")).to_have_count(1)  # the search's own reload is done
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.get_by_role("link", name=f"Edit Seats (users) of {wanted.name}").click()
    expect(page.locator(f"#cell-{wanted.pk}-seats form")).to_be_visible()
    grid_reloads = [url for url in requests if url.split("?")[0].endswith("/customer-limits/")]
    assert grid_reloads == []  # only the cell's editor was asked for
    expect(page.locator("#limits-q")).to_have_value("Wanted")
