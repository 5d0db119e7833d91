"""The Customers list's total without a COUNT(*): the counts the database keeps per status stay
exact through every way a customer is made, changed or removed; deep pages show the same rows
OFFSET would; the first page's queries are fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Plan
from customers.models import Customer, CustomerCount, CustomerStatus
from customers.services import (
    customer_delete,
    customer_reactivate,
    customer_restore,
    customer_suspend,
    customers_purge_deleted,
)
from tests.factories import make_customer
from tests.queries import tables_read

pytestmark = pytest.mark.django_db

URL = "/settings/customers/"


def kept(org) -> dict[str, int]:
    return {row.status: row.n for row in CustomerCount.objects.for_organization(org) if row.n}


def actual(org) -> dict[str, int]:
    rows = Customer.objects.for_organization(org).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def _create(org, owner, customers, live) -> None:
    make_customer(org, actor=owner, admin_email="admin@example.test")


def _bulk(org, owner, customers, live) -> None:
    plan = Plan.objects.for_organization(org).first()
    n = len(customers)
    Customer.objects.bulk_create(
        Customer(organization=org, name=f"Bulk {n}-{i}", slug=f"bulk-{n}-{i}", plan=plan)
        for i in range(3)
    )


def _edit(org, owner, customers, live) -> None:
    live[-1].name = f"{live[-1].name}!"
    live[-1].save()  # every column written, the status unchanged: no count moves


def _suspend_or_reactivate(org, owner, customers, live) -> None:
    if live[0].status == CustomerStatus.SUSPENDED:
        customer_reactivate(customer=live[0], actor=owner)
    else:
        customer_suspend(customer=live[0], actor=owner)


def _delete(org, owner, customers, live) -> None:
    customer_delete(customer=live[-1], actor=owner)


def _restore(org, owner, customers, live) -> None:
    deleted = [c for c in customers if c.status == CustomerStatus.DELETED]
    if deleted:
        customer_restore(customer=deleted[0], actor=owner)


def _purge(org, owner, customers, live) -> None:
    deleted = [c for c in customers if c.status == CustomerStatus.DELETED]
    if deleted:
        Customer.objects.for_organization(org).filter(pk=deleted[0].pk).update(
            deleted_at=timezone.now() - timedelta(days=365)
        )
        customers_purge_deleted()


def _queryset_update(org, owner, customers, live) -> None:
    Customer.objects.for_organization(org).filter(status=CustomerStatus.ACTIVE).update(
        status=CustomerStatus.SUSPENDED
    )


# Each way of changing the customer table, as the product (or a bulk load) does it.
ACTIONS = {
    "create": _create,
    "bulk": _bulk,
    "edit": _edit,
    "suspend": _suspend_or_reactivate,
    "delete": _delete,
    "restore": _restore,
    "purge": _purge,
    "queryset": _queryset_update,
}


def act(step: str, org, owner) -> None:
    customers = list(Customer.objects.for_organization(org).order_by("created_at"))
    live = [c for c in customers if c.status != CustomerStatus.DELETED]
    if not live and step in ("edit", "suspend", "delete"):
        step = "create"
    ACTIONS[step](org, owner, customers, live)


STEPS = st.lists(
    st.sampled_from(list(ACTIONS)),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_the_counts_stay_exact_whatever_changes_the_table(org, other_org, owner, steps):
    make_customer(other_org)  # another organization's customers count apart
    for step in steps:
        act(step, org, owner)
        assert kept(org) == actual(org), step
    assert kept(other_org) == actual(other_org)


def test_the_list_shows_the_kept_total_and_counts_rows_only_for_a_search(owner_client, org, owner):
    for n in range(3):
        make_customer(org, actor=owner, name=f"Zed {n}")
    suspended = make_customer(org, actor=owner, name="Suspended one")
    customer_suspend(customer=suspended, actor=owner)
    customer_delete(customer=make_customer(org, actor=owner, name="Gone"), actor=owner)

    assert "of 4" in owner_client.get(URL).content.decode()
    assert "of 1" in owner_client.get(URL, {"status": "suspended"}).content.decode()
    assert "of 5" in owner_client.get(URL, {"show_deleted": "on"}).content.decode()
    assert "of 3" in owner_client.get(URL, {"q": "zed"}).content.decode()
    # Only the search counts rows; the others read the kept counts.
    assert "customers_customercount" in tables_read(owner_client, URL)
    assert "customers_customercount" not in tables_read(owner_client, f"{URL}?q=zed")


def test_the_first_pages_queries_are_fixed(owner_client, org, owner):
    for _ in range(30):
        make_customer(org, actor=owner)
    assert tables_read(owner_client, URL) == [
        "django_session",
        "customers_user",
        "customers_membership",
        "customers_customercount",  # the total, no COUNT(*) over the customers
        "customers_customer",  # the page: ids through the index, then the rows joined
        "billing_plan",  # the plan filter's choices
    ]


@pytest.mark.parametrize("sort", ["name", "-created", "status", "-health"])
def test_every_page_shows_what_offset_would(owner_client, org, owner, sort):
    """The deferred join (ids first, then rows) gives each page exactly OFFSET's rows."""
    for n in range(23):
        make_customer(org, actor=owner, name=f"Customer {n % 7}")  # ties, broken by id
    customer_suspend(customer=Customer.objects.for_organization(org).last(), actor=owner)
    everything = owner_client.get(URL, {"sort": sort, "per_page": 100}).context["page"]
    expected = [c.pk for c in everything.object_list]
    seen = []
    for page in (1, 2, 3):
        response = owner_client.get(URL, {"sort": sort, "per_page": 10, "page": page})
        seen += [c.pk for c in response.context["page"].object_list]
        assert response.context["page"].paginator.count == 23
    assert seen == expected
    assert len(expected) == 23
