"""No secret ever lands in the audit trail: every flow that sets one runs, then every audit row is
searched for every secret (and every stored hash) it set. Each flow is also audited."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry
from audit.trail.services import SECRET_SET, is_secret, redact
from customers.models import ApiToken, User
from tests.factories import UserFactory, make_customer
from tests.figures import count

pytestmark = pytest.mark.django_db

NEW_PASSWORDS = {
    "admin_add": "Admin-add-Secret-9431",
    "admin_set": "Admin-set-Secret-5520",
    "reset": "Reset-flow-Secret-7719",
    "change": "Change-flow-Secret-3308",
    "invite": "Invite-flow-Secret-6642",
}


def every_audit_row_as_text() -> str:
    rows = AuditEntry.objects.unscoped().values()
    return "\n".join(json.dumps(row, default=str) for row in rows)


@pytest.fixture
def support(support_group) -> Client:
    user = UserFactory(email="support@tenantry.test", is_staff=True, is_superuser=True)
    user.groups.add(support_group)
    client = Client()
    client.force_login(user)
    return client


def test_every_secret_setting_flow_leaves_no_secret_in_the_audit_log(
    support, owner, org, django_capture_on_commit_callbacks
):
    secrets: list[str] = list(NEW_PASSWORDS.values())
    flows = 0

    # 1. Support creates a user in the admin.
    response = support.post(
        "/admin/customers/user/add/",
        {
            "email": "made@admin.test",
            "password1": NEW_PASSWORDS["admin_add"],
            "password2": NEW_PASSWORDS["admin_add"],
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    made = User.objects.get(email="made@admin.test")
    flows += 1

    # 2. Support sets a password in the admin: audited, as "password set" only.
    response = support.post(
        f"/admin/customers/user/{made.pk}/password/",
        {
            "password1": NEW_PASSWORDS["admin_set"],
            "password2": NEW_PASSWORDS["admin_set"],
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.unscoped().get(action="user.password_set_by_support")
    assert entry.changes == {"password": [None, SECRET_SET]}
    flows += 1

    # 3. Password reset by email link.
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    token = default_token_generator.make_token(owner)
    client = Client()
    landing = client.get(f"/accounts/reset/{uid}/{token}/")
    response = client.post(
        landing["Location"],
        {"new_password1": NEW_PASSWORDS["reset"], "new_password2": NEW_PASSWORDS["reset"]},
    )
    assert response.status_code == 302
    flows += 1

    # 4. Password change while signed in.
    owner.refresh_from_db()
    client = Client()
    client.force_login(owner)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": NEW_PASSWORDS["reset"],
            "new_password1": NEW_PASSWORDS["change"],
            "new_password2": NEW_PASSWORDS["change"],
        },
    )
    assert response.status_code == 302
    flows += 1

    # 5. A new person accepts an invitation and chooses a password.
    with django_capture_on_commit_callbacks(execute=True):
        customer = make_customer(org, actor=owner, admin_email="new@acme.ai")
    link = re.search(r"/invite/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)
    secrets.append(link)
    invitee = Client()
    invitee.get(f"/invite/{link}/")
    response = invitee.post(
        "/invite/accept/",
        {
            "name": "New Admin",
            "password1": NEW_PASSWORDS["invite"],
            "password2": NEW_PASSWORDS["invite"],
        },
    )
    assert response.status_code == 302
    flows += 1

    # 6. An organization API key.
    # (the owner's own session, kept across the password change above)
    response = client.post("/settings/api-keys/", {"name": "billing-sync"}, follow=True)
    secrets.append(response.context["new_secret"])
    flows += 1

    # 7. A customer token in the portal.
    response = invitee.post("/portal/api-tokens/", {"name": "ci"}, follow=True)
    secrets.append(response.context["new_secret"])
    flows += 1

    # 8. A TOTP device in the portal: its key, hex and base32.
    invitee.get("/portal/two-factor/setup/")
    device = TOTPDevice.objects.get(user__email="new@acme.ai")
    secrets += [device.key, response_secret(invitee)]
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        response = invitee.post(
            "/portal/two-factor/setup/", {"code": f"{totp(device.bin_key):06d}"}
        )
    assert response.status_code == 302
    flows += 1

    # Stored hashes are secrets too.
    secrets += [u.password for u in User.objects.all()]
    secrets += [t.token_hash for t in ApiToken.objects.unscoped()]
    secrets += [customer.admin_invitation.token_hash]

    text = every_audit_row_as_text()
    found = [secret for secret in secrets if secret and secret in text]
    count("secret-setting flows exercised", flows)
    count("secrets searched for in the audit log", len(secrets))
    count("secrets found in the audit log", len(found))
    assert flows == 8
    assert len(secrets) >= 15
    assert found == []
    actions = set(AuditEntry.objects.unscoped().values_list("action", flat=True))
    assert {
        "user.created_by_support",
        "user.password_set_by_support",
        "password.reset",
        "password.changed",
        "invite.accepted",
        "api_token.created",
        "two_factor.enabled",
    } <= actions


def response_secret(client: Client) -> str:
    """The base32 key the setup page shows for typing into an app by hand."""
    page = client.get("/portal/two-factor/setup/").content.decode()
    return re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)


@pytest.mark.parametrize(
    ("field", "secret"),
    [
        ("password", True),
        ("password1", True),
        ("new_password2", True),
        ("old_password", True),
        ("token_hash", True),
        ("signing_secret", True),
        ("key", True),
        ("has_pci_passwords", False),
        ("can_reset_passwords", False),
        ("name", False),
    ],
)
def test_one_list_of_secret_fields(field, secret):
    assert is_secret(field) is secret


def test_a_diff_keeps_only_that_a_secret_was_set():
    assert redact({"password1": ["", "x"], "password2": ["", "x"], "name": ["a", "b"]}) == {
        "password": [None, SECRET_SET],
        "name": ["a", "b"],
    }


def test_the_admin_user_form_records_no_password(support):
    support.post(
        "/admin/customers/user/add/",
        {"email": "x@admin.test", "password1": "Zq-81-secret", "password2": "Zq-81-secret"},
    )
    entry = AuditEntry.objects.unscoped().get(action="user.created_by_support")
    assert entry.changes.get("password") == [None, SECRET_SET]
    assert "Zq-81-secret" not in json.dumps(entry.changes)
