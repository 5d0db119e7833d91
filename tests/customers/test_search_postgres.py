"""On PostgreSQL the Customers search is served by the trigram indexes."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test import RequestFactory

from audit.maintenance import owner_settings
from billing.models import Plan
from customers.models import Customer
from customers.records.filters import CustomerFilter
from tests.conftest import requires_postgres

# Committed rows: the statistics are gathered by the tables' owner, on its own connection
# when the suite runs as the restricted app role (only an owner may ANALYZE).
pytestmark = [pytest.mark.django_db(transaction=True), requires_postgres]


def analyze(table: str) -> None:
    params = owner_settings()
    if params is None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
        return
    with psycopg.connect(**params, autocommit=True) as owner:
        owner.execute(f"ANALYZE {table}")


def test_search_uses_the_trigram_expression_indexes(org, owner):
    plans = list(Plan.objects.for_organization(org))
    Customer.objects.bulk_create(
        Customer(
            organization=org,
            name=f"Bulk {n:05d}",
            slug=f"bulk-{n:05d}",
            external_id=f"ext_{n:05d}",
            admin_email=f"admin{n}@bulk.test",
            plan=plans[n % 4],
        )
        for n in range(5000)
    )
    Customer.objects.create(
        organization=org,
        name="Katana Robotics",
        slug="katana",
        external_id="customer_4242",
        admin_email="boss@katana.test",
        plan=plans[0],
    )
    analyze("customers_customer")
    with connection.cursor() as cursor:
        # A few thousand rows still fit a sequential scan; at 100,000 (make bench) the
        # planner picks the indexes by itself. Here: rule the scan out, see which index fits.
        cursor.execute("SET enable_seqscan = off")
    try:
        searches_use_trigram_indexes(org)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")


def searches_use_trigram_indexes(org) -> None:
    for term in ["katana", "ustomer", "boss@katana"]:
        request = RequestFactory().get("/", {"q": term})
        request.organization = org
        queryset = CustomerFilter(
            request.GET, queryset=Customer.objects.for_organization(org), request=request
        ).qs

        plan = queryset[:25].explain()

        assert "_trgm" in plan, plan
        assert [c.name for c in queryset] == ["Katana Robotics"]
