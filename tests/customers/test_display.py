"""Values as people read them."""

from __future__ import annotations

import pytest

from customers.templatetags.display import badge, duration, filters_in_use, moment, number


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, ""),
        (0, "0 ms"),
        (850, "850 ms"),
        (1000, "1 s"),
        (12_400, "12.4 s"),
        (83_127, "1 min 23 s"),
        (120_000, "2 min"),
        (7_500_000, "2 h 5 min"),
    ],
)
def test_durations_read_in_minutes_and_seconds(ms, shown):
    assert duration(ms) == shown


def test_an_accepted_invitation_reads_accepted_on_the_detail_page(owner_client, org, owner):
    from customers.services import invite_accept
    from tests.factories import UserFactory, make_customer

    customer = make_customer(org, actor=owner, admin_email="a@x.test")
    invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="a@x.test"))
    content = owner_client.get(f"/settings/customers/{customer.pk}/").content.decode()
    invitations = content[content.index("Invitations") :]
    assert '<span class="badge badge-success">Accepted</span>' in invitations


def test_a_pending_invitation_has_one_name_on_every_page(owner_client, org, owner):
    """The seed's Customer Admin column says "Invite Pending": the invitations table, the
    admin's column and the list say the same, never a bare "Pending"."""
    from customers.models import Invitation
    from tests.factories import make_customer

    customer = make_customer(org, actor=owner, admin_email="a@x.test")
    detail = owner_client.get(f"/settings/customers/{customer.pk}/").content.decode()
    listing = owner_client.get("/settings/customers/").content.decode()
    assert detail.count(">Invite Pending</span>") == 2  # the admin, and the invitations table
    assert "a@x.test (Invite Pending)" in listing
    for page in (detail, listing):
        assert ">Pending</span>" not in page
    assert [label for _, label in Invitation.Status.choices] == [
        "Invite Pending",
        "Accepted",
        "Invite Expired",
        "Invite Revoked",
    ]


def test_a_moment_ago_reads_just_now_with_the_full_time_on_hover():
    from datetime import timedelta

    from django.utils import timezone

    from customers.templatetags.display import ago

    now = timezone.now()
    assert ">just now</time>" in ago(now)
    assert f'title="{now:%Y-%m-%d %H:%M:%S} UTC"' in ago(now)
    assert ">5\xa0minutes ago</time>" in ago(now - timedelta(minutes=5))
    assert ago(None) == ""


def test_a_customer_just_saved_was_updated_just_now(owner_client, org, owner):
    from tests.factories import make_customer

    customer = make_customer(org, actor=owner)
    content = owner_client.get(f"/settings/customers/{customer.pk}/").content.decode()
    assert "updated <time" in content
    assert ">just now</time>" in content
    assert "0\xa0minutes ago" not in content


def test_a_timestamp_has_no_microseconds_and_the_full_time_on_hover():
    from datetime import UTC, datetime

    when = datetime(2026, 11, 23, 18, 40, 17, 123456, tzinfo=UTC)
    assert moment(when) == (
        '<time datetime="2026-11-23T18:40:17+00:00" title="Monday 23 November 2026, '
        '18:40:17 UTC">2026-11-23 18:40 UTC</time>'
    )
    assert ">2026-11-23 18:40:17 UTC</time>" in moment(when, "seconds")
    assert moment(None) == "—"


@pytest.mark.parametrize(
    ("status", "tone"),
    [
        ("active", "success"),
        ("Active", "success"),
        ("delivered", "success"),
        ("pending_admin_activation", "warning"),
        ("Invite Pending", "warning"),
        ("expired", "warning"),
        ("suspended", "danger"),
        ("failed", "danger"),
        ("running", "info"),
        ("deleted", "muted"),
        ("revoked", "muted"),
    ],
)
def test_one_badge_style_for_every_status(status, tone):
    assert badge(status, "Label") == f'<span class="badge badge-{tone}">Label</span>'


def test_numbers_have_thousands_separators():
    assert number(1234567) == "1,234,567"
    assert number(0) == "0"
    assert number(None) == "—"


def test_filters_in_use_counts_the_filled_fields():
    from audit.filters import AuditFilter
    from audit.models import AuditEntry

    form = AuditFilter(
        {"action": "customer", "date_after": "2026-01-01"}, AuditEntry.objects.none()
    ).form
    assert filters_in_use(form) == 2
    assert filters_in_use(AuditFilter({}, AuditEntry.objects.none()).form) == 0
