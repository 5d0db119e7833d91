"""From "Create customer" to an Active customer, through the email link, in Chromium."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_customer_admin_accepts_and_the_customer_turns_active(browser, live_server, owner, org):
    admin = browser.new_context(base_url=live_server.url)
    page = admin.new_page()
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/new")
    page.get_by_label("Name").fill("John-Acme")
    page.get_by_label("Admin email").fill("john@acme.ai")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url("**/settings/customers/*/")

    message = next(m for m in mail.outbox if m.to == ["john@acme.ai"])
    link = re.search(r"https?://\S+/invite/\S+/", message.body).group(0)
    path = link.split("/invite/", 1)[1]

    invitee = browser.new_context(base_url=live_server.url).new_page()
    invitee.goto(f"/invite/{path}")
    invitee.wait_for_url("**/invite/accept/")  # the token is gone from the address bar
    invitee.get_by_label("Your name").fill("John Admin")
    invitee.get_by_label("Password", exact=True).fill("a-long-new-passphrase")
    invitee.get_by_label("Password again").fill("a-long-new-passphrase")
    invitee.get_by_role("button", name="Create account and accept").click()

    invitee.wait_for_url("**/portal/")
    assert invitee.get_by_role("heading", name="John-Acme").is_visible()
    assert "Active" in invitee.locator("h1").inner_text()

    page.goto("/settings/customers/")
    row = page.get_by_role("row", name="John-Acme")
    expect(row).to_contain_text("Active")
    assert "john@acme.ai (Active)" in row.inner_text()
    admin.close()
