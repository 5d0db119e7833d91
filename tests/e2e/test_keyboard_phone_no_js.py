"""The console with a keyboard, on a phone and without JavaScript (Chromium): focus after
swaps, announced result counts, Esc, the Menu button, the Filters disclosure, and Danger Zone
actions that still work as plain form posts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer, CustomerStatus
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_focus_stays_put_after_a_sort_and_the_new_count_is_announced(page, owner, org):
    for n in range(30):
        make_customer(org, actor=owner, name=f"Customer {n:02}")
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")

    page.locator("#sort-created").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=created"))
    expect(page.locator("#sort-created")).to_be_focused()  # the same header, in the new table
    expect(page.locator("#live-status")).to_have_text("30 customers match")

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#results")).to_be_focused()  # the pager link was swapped away

    page.get_by_label("Search").fill("Customer 07")
    expect(page.locator("#live-status")).to_have_text("1 customer matches")
    expect(page.get_by_label("Search")).to_be_focused()  # typing goes on where it was


def test_esc_closes_the_account_menu_and_gives_focus_back(page, owner, org):
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")
    menu = page.locator("details.user-menu")
    menu.locator("summary").click()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Change password")).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()


def test_on_a_phone_the_navigation_and_filters_fold_away(browser, live_server, owner, org):
    make_customer(org, actor=owner, name="Folded Co")
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")

    nav_link = page.get_by_label("Main navigation").get_by_role("link", name="Audit Log")
    menu = page.get_by_role("button", name="Menu")
    expect(nav_link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav_link).to_be_hidden()
    expect(menu).to_be_focused()

    status = page.get_by_label("Status")
    expect(page.get_by_label("Search")).to_be_visible()  # search stays at hand
    expect(status).to_be_hidden()
    page.locator("summary", has_text="Filters").click()
    expect(status).to_be_visible()

    page.goto("/settings/customers/?status=active")  # filters in use: shown open
    expect(page.get_by_label("Status")).to_be_visible()
    page.goto("/settings/audit-log/")
    expect(page.get_by_label("Outcome")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


def test_without_javascript_danger_zone_posts_and_copy_is_hidden(browser, live_server, owner, org):
    customer = make_customer(org, actor=owner, name="No Script Co")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"/settings/customers/{customer.pk}/")

    expect(page.get_by_role("button", name="Copy UUID")).to_be_hidden()
    dialog = page.locator("#dialog-suspend")
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Suspend", exact=True).click()
    expect(dialog).to_be_visible()  # the confirmation, shown in place
    expect(dialog).to_contain_text("Nothing is deleted")
    dialog.get_by_role("button", name="Suspend customer").click()

    expect(page.locator("#customer-status")).to_have_text("Suspended")
    customer = Customer.objects.for_organization(org).get(pk=customer.pk)
    assert customer.status == CustomerStatus.SUSPENDED

    page.get_by_role("link", name="Delete customer").click()
    delete = page.locator("#dialog-delete")
    delete.get_by_label("Type the customer's slug to confirm").fill(customer.slug)
    delete.get_by_role("button", name="Delete customer").click()
    expect(page.locator("#customer-status")).to_have_text("Deleted")
    context.close()


def test_arrowing_through_the_organization_switcher_does_not_switch(page, owner, org):
    from customers.models import Membership
    from customers.services import organization_create

    organization_create(name="Second Org", owner=owner, slug="second")
    assert Membership.objects.filter(user=owner).count() == 2
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")
    switcher = page.get_by_label("Organization")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.url.endswith("/settings/customers/")  # nothing was submitted
    expect(page.locator(".org-switcher")).to_be_visible()
    page.keyboard.press("Enter")  # now it is meant
    expect(switcher.locator("option[selected]")).to_have_text("Second Org")


def test_esc_cancels_the_limit_editor_and_closes_the_drawer(page, owner, org):
    from django.utils import timezone

    from audit.models import Execution, Workflow

    customer = make_customer(org, actor=owner, name="Esc Co")
    workflow = Workflow.objects.create(organization=org, name="Sync")
    Execution.objects.create(
        organization=org, customer=customer, workflow=workflow, started_at=timezone.now()
    )
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/billing/customer-limits/")
    page.get_by_role("link", name="Edit Events per day of Esc Co").click()
    editor = page.locator(f"#cell-{customer.pk}-events_per_day form")
    expect(editor.locator(":focus")).to_have_count(1)  # the keyboard is in the editor
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(page.get_by_role("link", name="Edit Events per day of Esc Co")).to_be_focused()

    page.goto("/activity/executions/")
    opener = page.locator("#results tbody a[hx-get]").first
    opener.click()
    drawer = page.get_by_role("complementary", name="Execution details")
    expect(drawer).to_contain_text("Sync")
    page.keyboard.press("Escape")
    expect(drawer.locator("h2")).to_have_count(0)
    expect(opener).to_be_focused()


def test_without_javascript_a_confirmation_in_a_table_is_an_overlay(
    browser, live_server, owner, org
):
    from tests.factories import make_connection

    customer = make_customer(org, actor=owner, name="Overlay Co")
    connection = make_connection(customer, app="Slack")
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport=PHONE
    )
    page = context.new_page()
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"/settings/customers/{customer.pk}/")
    page.get_by_role("link", name="Revoke", exact=True).click()
    dialog = page.locator(f"#dialog-conn-{connection.pk}")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]  # on screen, not inside the cell
    dialog.get_by_role("button", name="Revoke connection").click()
    expect(page.locator(".flash-success")).to_be_visible()
    connection.refresh_from_db()
    assert connection.status == "revoked"
    context.close()
