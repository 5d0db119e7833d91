from __future__ import annotations

import pytest

from audit.models import AuditEntry
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_through_the_real_page(page, owner, org):
    sign_in(page, owner.email, PASSWORD)

    page.wait_for_url("**/")
    assert page.get_by_role("heading", name=org.name).is_visible()
    assert page.get_by_text(owner.email).first.is_visible()
    assert AuditEntry.objects.for_organization(org).filter(action="login.succeeded").count() == 1


def test_a_wrong_password_says_so_and_keeps_the_email(page, owner):
    sign_in(page, owner.email, "not the password")

    assert page.get_by_text("don't match an account").is_visible()
    assert page.get_by_label("Email").input_value() == owner.email
