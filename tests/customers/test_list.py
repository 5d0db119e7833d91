"""Settings → Customers: columns, search, filters, sort, pagination, HTMX partial vs page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from billing.models import Plan
from customers.models import Customer
from customers.services import customer_delete, customer_suspend
from tests.factories import make_customer

pytestmark = pytest.mark.django_db
URL = "/settings/customers/"


def names(response) -> list[str]:
    return [customer.name for customer in response.context["page"].object_list]


def test_the_columns_are_the_seeds(owner_client, customer):
    response = owner_client.get(URL)
    content = response.content.decode()
    thead = content[content.index("<thead>") : content.index("</thead>")]
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", thead, re.DOTALL)
    assert [re.sub(r"<[^>]+>|[▲▼]", "", cell).strip() for cell in cells] == [
        "Name",
        "Slug",
        "Status",
        "Customer Admin",
        "Plan",
        "Created",
        "Health",  # ours, after the seed's columns
    ]
    assert "John-Acme" in content
    assert "acme-customer" in content
    assert "Pending Admin Activation" in content
    assert "john@acme.ai (Invite Pending)" in content
    assert ">Free<" in content
    assert timezone.now().strftime("%Y-%m-%d") in content


def test_empty_state_has_a_create_call_to_action(owner_client, org):
    content = owner_client.get(URL).content.decode()
    assert "No customers yet." in content
    assert 'href="/settings/customers/new"' in content


def test_viewers_see_no_create_button(viewer_client, org):
    assert b"Create customer" not in viewer_client.get(URL).content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("john", ["John-Acme"]),  # name
        ("ACME-CUST", ["John-Acme"]),  # slug, any case
        ("customer_12345", ["John-Acme"]),  # external id
        ("john@acme", ["John-Acme"]),  # admin email
        ("widget", ["Widget Inc"]),
        ("nothing-like-it", []),
    ],
)
def test_search(owner_client, org, owner, customer, query, expected):
    make_customer(org, actor=owner, name="Widget Inc", slug="widget")
    response = owner_client.get(URL, {"q": query})
    assert names(response) == expected


def test_filters_by_status_and_plan(owner_client, org, owner, customer):
    pro = make_customer(org, actor=owner, name="Pro One", plan="Pro")
    customer_suspend(customer=pro, actor=owner)
    pro_plan = Plan.objects.for_organization(org).get(name="Pro")

    assert names(owner_client.get(URL, {"status": "suspended"})) == ["Pro One"]
    assert names(owner_client.get(URL, {"plan": str(pro_plan.pk)})) == ["Pro One"]
    assert names(owner_client.get(URL, {"status": "active"})) == []


def test_deleted_customers_are_hidden_unless_asked_for(owner_client, org, owner, customer):
    gone = make_customer(org, actor=owner, name="Gone Co")
    customer_delete(customer=gone, actor=owner)

    assert names(owner_client.get(URL)) == ["John-Acme"]
    assert names(owner_client.get(URL, {"show_deleted": "on"})) == ["Gone Co", "John-Acme"]
    assert names(owner_client.get(URL, {"status": "deleted"})) == ["Gone Co"]


def test_sort_by_name_created_and_status(owner_client, org, owner):
    b = make_customer(org, actor=owner, name="Bravo")
    a = make_customer(org, actor=owner, name="Alpha")
    customer_suspend(customer=b, actor=owner)
    Customer.objects.for_organization(org).filter(pk=a.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=3)
    )

    assert names(owner_client.get(URL, {"sort": "name"})) == ["Alpha", "Bravo"]
    assert names(owner_client.get(URL, {"sort": "-name"})) == ["Bravo", "Alpha"]
    assert names(owner_client.get(URL, {"sort": "created"})) == ["Alpha", "Bravo"]
    assert names(owner_client.get(URL, {"sort": "-created"})) == ["Bravo", "Alpha"]
    assert names(owner_client.get(URL, {"sort": "status"})) == ["Alpha", "Bravo"]


def test_pagination(owner_client, org, owner):
    for n in range(12):
        make_customer(org, actor=owner, name=f"C{n:02d}")

    first = owner_client.get(URL, {"per_page": 10})
    second = owner_client.get(URL, {"per_page": 10, "page": 2})

    assert names(first) == [f"C{n:02d}" for n in range(10)]
    assert names(second) == ["C10", "C11"]
    assert "11–12 of 12" in second.content.decode()
    # Nonsense values fall back instead of failing.
    assert owner_client.get(URL, {"per_page": "x", "page": "abc"}).status_code == 200
    assert owner_client.get(URL, {"sort": "nonsense", "status": "zzz"}).status_code == 200


def test_htmx_gets_the_results_fragment_and_a_plain_request_the_page(owner_client, customer):
    fragment = owner_client.get(
        URL, {"q": "john"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    page = owner_client.get(URL, {"q": "john"})

    assert fragment.content.decode().lstrip().startswith('<section id="results"')
    assert b"<html" not in fragment.content
    assert b"<html" in page.content
    assert b'id="results"' in page.content
    assert "HX-Request" in fragment["Vary"]


def test_controls_push_their_state_into_the_url(owner_client, customer):
    content = owner_client.get(URL, {"q": "john", "sort": "-created"}).content.decode()
    assert 'hx-push-url="true"' in content
    assert 'hx-target="#results"' in content
    # Sort links keep the search.
    assert "?q=john&amp;sort=created" in content or "?q=john&amp;sort=-created" in content


@pytest.mark.parametrize("rows", [10, 100])
def test_query_count_does_not_grow_with_the_page_size(
    owner_client, org, owner, rows, django_assert_max_num_queries
):
    plans = list(Plan.objects.for_organization(org))
    Customer.objects.bulk_create(
        Customer(
            organization=org,
            name=f"Bulk {n:03d}",
            slug=f"bulk-{n:03d}",
            plan=plans[n % 4],
            admin_email=f"a{n}@x.test",
        )
        for n in range(rows)
    )
    with django_assert_max_num_queries(8):
        response = owner_client.get(URL, {"per_page": rows})
    assert len(names(response)) == rows


def test_sort_and_page_size_survive_a_filter_change(owner_client, org, owner):
    """The hidden sort and per_page inputs are part of the swapped results (tied to the filter
    form by its id), so after a sort the next filter change keeps them."""
    response = owner_client.get(
        "/settings/customers/",
        {"sort": "-created", "per_page": "50"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="results",
    )
    content = response.content.decode()
    assert 'name="sort" value="-created" form="customer-filters"' in content
    assert 'name="per_page" value="50" form="customer-filters"' in content
    page = owner_client.get("/settings/customers/").content.decode()
    assert 'id="customer-filters"' in page
