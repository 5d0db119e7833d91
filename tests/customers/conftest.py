from __future__ import annotations

import pytest

from tests.factories import make_customer


@pytest.fixture
def customer(org, owner, django_capture_on_commit_callbacks):
    # Invitation emails leave on commit; run those callbacks as a real request would.
    with django_capture_on_commit_callbacks(execute=True):
        return make_customer(
            org,
            actor=owner,
            name="John-Acme",
            slug="acme-customer",
            admin_email="john@acme.ai",
            external_id="customer_12345",
        )


@pytest.fixture
def foreign_customer(other_org, outsider):
    return make_customer(other_org, actor=outsider, name="Theirs", slug="theirs")
