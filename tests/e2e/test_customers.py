"""A SaaS admin runs a customer's whole lifecycle in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_copy_suspend_reactivate_delete_restore(page, owner, org):
    sign_in(page, owner.email, PASSWORD)
    page.get_by_label("Main navigation").get_by_role("link", name="Customers").click()
    assert page.get_by_text("No customers yet.").is_visible()

    page.get_by_role("link", name="Create customer").first.click()
    page.get_by_label("Name").fill("Katana Robotics")
    assert page.get_by_label("Slug").input_value() == "katana-robotics"  # prefilled as you type
    page.get_by_label("External ID").fill("customer_4242")
    page.get_by_label("Plan").select_option(label="Pro")
    page.get_by_label("Admin email").fill("boss@katana.test")
    page.get_by_role("button", name="Create customer").click()

    customer = Customer.objects.for_organization(org).get(slug="katana-robotics")
    page.wait_for_url(f"**/settings/customers/{customer.pk}/")
    page.get_by_role("link", name="Customers", exact=True).first.click()
    row = page.get_by_role("row", name="Katana Robotics")
    expect(row).to_contain_text("Pending Admin Activation")
    assert "boss@katana.test (Invite Pending)" in row.inner_text()

    row.get_by_role("link", name="Katana Robotics").click()
    page.get_by_role("button", name="Copy UUID").click()
    assert page.evaluate("navigator.clipboard.readText()") == str(customer.pk)

    status = page.locator("#customer-status")
    page.get_by_role("button", name="Suspend", exact=True).click()
    dialog = page.locator("#dialog-suspend")
    assert "connected account" in dialog.inner_text()  # says what it affects
    dialog.get_by_role("button", name="Suspend customer").click()
    expect(status).to_have_text("Suspended")

    page.get_by_role("button", name="Reactivate", exact=True).click()
    page.locator("#dialog-reactivate").get_by_role("button", name="Reactivate customer").click()
    expect(status).to_have_text("Pending Admin Activation")

    page.get_by_role("button", name="Delete customer").click()
    dialog = page.locator("#dialog-delete")
    confirm = dialog.get_by_role("button", name="Delete customer")
    assert confirm.is_disabled()
    dialog.get_by_label("Type the customer's slug to confirm").fill("katana-robotic")
    assert confirm.is_disabled()
    dialog.get_by_label("Type the customer's slug to confirm").fill("katana-robotics")
    confirm.click()
    expect(status).to_have_text("Deleted")

    page.get_by_role("button", name="Restore customer").click()
    page.locator("#dialog-restore").get_by_role("button", name="Restore customer").click()
    expect(status).to_have_text("Pending Admin Activation")
    customer.refresh_from_db()
    assert customer.status == "pending_admin_activation"


def test_list_search_updates_the_table_and_the_url(page, owner, org):
    from tests.factories import make_customer

    for name in ["Alpha Corp", "Beta Ltd", "Gamma GmbH"]:
        make_customer(org, actor=owner, name=name)
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")

    page.get_by_label("Search").fill("beta")
    page.wait_for_url("**/settings/customers/?q=beta*")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert "Beta Ltd" in page.locator("#results").inner_text()

    page.go_back()
    page.wait_for_url("**/settings/customers/")
    page.reload()
    expect(page.locator("#results tbody tr")).to_have_count(3)


def test_sorting_right_after_typing_a_search_makes_one_request(page, owner, org):
    """Leaving the search box used to send the whole form again (a "change") beside the sort
    header's own request, with the old sort: whichever answered last won."""
    from tests.factories import make_customer

    for name in ["Alpha Corp", "Alpha Beta", "Gamma GmbH"]:
        make_customer(org, actor=owner, name=name)
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")
    page.get_by_label("Search").fill("alpha")
    expect(page.locator("#results tbody tr")).to_have_count(2)  # the search's own reload is done
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.locator("#sort-name").click()
    expect(page.locator("#results caption")).to_contain_text("name, descending")
    page.wait_for_load_state("networkidle")
    listed = [url for url in requests if "/settings/customers/" in url]
    assert len(listed) == 1, listed
    assert "sort=" in listed[0]
    assert "q=alpha" in listed[0]


def test_every_filter_control_still_reloads_the_list(page, owner, org):
    """The form listens to each control by name now, so each one is checked."""
    from tests.factories import make_customer

    make_customer(org, actor=owner, name="Alpha Corp")
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/")
    page.get_by_label("Status").select_option("suspended")
    page.wait_for_url("**status=suspended*")
    page.get_by_label("Show deleted").check()
    page.wait_for_url("**show_deleted=on*")
    page.get_by_label("Needs attention").check()
    page.wait_for_url("**attention=on*")
    plan = page.get_by_label("Plan")
    plan.select_option(index=1)
    page.wait_for_url(f"**plan={plan.input_value()}*")


def test_the_slug_preview_is_the_slug_the_server_would_make(page, owner, org):
    """The browser's preview and the server's rule share one length (data-slug-length), so a
    long name previews the slug that is then saved."""
    from django.utils.text import slugify

    from customers.models import slug_from_name

    name = "O'Brien & Søn_s Überlange Gesellschaft für " + "sehr " * 20 + "lange Namen"
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/new")
    page.get_by_label("Name").fill(name)
    preview = page.get_by_label("Slug").input_value()
    assert preview == slug_from_name(name)
    assert preview.startswith("obrien-sn_s-uberlange-")
    for other in ("Ünïcødé — Co.", "a  b--c", "___x___", "Acme (EU) GmbH & Co. KG", "日本"):
        page.get_by_label("Name").fill(other)
        assert page.get_by_label("Slug").input_value() == slugify(other)[:70].rstrip("-_"), other
    page.get_by_label("Name").fill(name)
    page.get_by_label("Plan").select_option(label="Pro")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url("**/settings/customers/*/")
    assert Customer.objects.for_organization(org).get().slug == preview


def test_a_second_customer_of_the_same_name_gets_a_free_slug_unless_one_was_chosen(
    page, owner, org
):
    """The slug the preview filled in is nobody's choice: a taken one becomes "-2", as without
    JavaScript. One typed by hand is kept, and a taken one is refused with a clear message."""
    from tests.factories import make_customer

    make_customer(org, actor=owner, name="Katana Robotics", slug="katana-robotics")
    sign_in(page, owner.email, PASSWORD)
    page.goto("/settings/customers/new")
    page.get_by_label("Name").fill("Katana Robotics")
    page.get_by_label("Plan").select_option(label="Pro")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url("**/settings/customers/*/")
    assert Customer.objects.for_organization(org).filter(slug="katana-robotics-2").exists()

    page.goto("/settings/customers/new")
    page.get_by_label("Name").fill("Katana Robotics")
    page.get_by_label("Slug").fill("katana-robotics")  # chosen by hand: not replaced
    page.get_by_label("Plan").select_option(label="Pro")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("uses the slug “katana-robotics”")).to_be_visible()
    assert Customer.objects.for_organization(org).count() == 2
