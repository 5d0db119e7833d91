"""Usage alerts: thresholds and where they come from, crossings where usage is counted, once
per window, the forecast, who hears (emails, webhook, Overview), the digest, the pages and API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from audit.activity.ingestion import events_ingest, executions_ingest
from audit.models import AuditEntry
from billing.limits.forecast import forecast_usage
from billing.models import Plan, QuotaNotice, UsageCounter, UsageDigest
from billing.services import (
    LimitError,
    consume,
    override_set,
    parse_percents,
    thresholds_at,
    thresholds_set,
    usage_digest_send,
)
from customers.models import Membership
from customers.services import endpoint_create, membership_alert_emails_set
from customers.webhooks.delivery import deliver_now
from tests.factories import make_customer, make_seat

pytestmark = pytest.mark.django_db

EVENT = {"type": "webhook", "direction": "incoming", "name": "order.created"}
# Midday on a Wednesday: half the day gone, well inside the month.
NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def late_in_the_day():
    """Every test starts at 22:00 UTC unless it moves the clock itself: early in a day, a few
    events already project past the limit (the forecast is right to warn), which would make
    what a test sees depend on the hour CI runs at."""
    with time_machine.travel(NOON.replace(hour=22), tick=True):
        yield


@pytest.fixture
def busy(org, owner):
    """A customer with a limit of 100 events a day and an admin who reads email."""
    customer = make_customer(org, actor=owner, name="Busy Co", plan="Enterprise")
    make_seat(customer, role="superuser", email="admin@busy.test")
    override_set(
        customer=customer, dimension="events_per_day", value=100, reason="test", actor=owner
    )
    return customer


def ingest(customer, count: int) -> None:
    events_ingest(customer=customer, items=[EVENT] * count)


def kinds(customer) -> list[str]:
    return sorted(QuotaNotice.objects.for_customer(customer).values_list("kind", flat=True))


# --- thresholds ----------------------------------------------------------------------------


def test_thresholds_follow_customer_then_plan_then_organization_then_default(org, owner, busy):
    def effective():
        t = thresholds_at(org.pk, customer=busy)["events_per_day"]
        return t.percents, t.source

    assert effective() == ((80, 100), "default")
    thresholds_set(organization=org, actor=owner, dimension="events_per_day", percents=[90])
    assert effective() == ((90,), "organization")
    plan = busy.plan
    thresholds_set(
        organization=org, actor=owner, dimension="events_per_day", percents=[50, 75], plan=plan
    )
    assert effective() == ((50, 75), "plan")
    thresholds_set(
        organization=org, actor=owner, dimension="events_per_day", percents=[], customer=busy
    )
    assert effective() == ((), "customer")  # an empty list: no alerts at all
    thresholds_set(
        organization=org, actor=owner, dimension="events_per_day", percents=None, customer=busy
    )
    assert effective() == ((50, 75), "plan")
    changes = AuditEntry.objects.for_organization(org).filter(action="alert_thresholds.changed")
    assert changes.count() == 4


def test_each_plan_shows_its_own_thresholds(org, owner):
    plans = {p.name: p for p in Plan.objects.for_organization(org)}
    thresholds_set(
        organization=org, actor=owner, dimension="events_per_day", percents=[10], plan=plans["Free"]
    )
    thresholds_set(
        organization=org,
        actor=owner,
        dimension="events_per_day",
        percents=[20, 30],
        plan=plans["Starter"],
    )
    seen = {
        name: thresholds_at(org.pk, plan_id=plan.pk)["events_per_day"]
        for name, plan in plans.items()
    }
    assert (seen["Free"].percents, seen["Free"].own) == ((10,), (10,))
    assert (seen["Starter"].percents, seen["Starter"].own) == ((20, 30), (20, 30))
    assert (seen["Pro"].percents, seen["Pro"].source, seen["Pro"].own) == (
        (80, 100),
        "default",
        None,
    )


def test_a_deleted_customers_thresholds_stay_as_they_are(org, owner, busy):
    from customers.services import customer_delete

    customer_delete(customer=busy, actor=owner)
    busy.refresh_from_db()
    with pytest.raises(LimitError, match="is deleted"):
        thresholds_set(
            organization=org, actor=owner, dimension="events_per_day", percents=[50], customer=busy
        )


def test_percents_are_read_and_refused_clearly():
    assert parse_percents("80, 100") == [80, 100]
    assert parse_percents("100;50 %,50") == [50, 100]
    assert parse_percents("") == []
    for bad in ("0", "101", "eighty", "1,2,3,4,5,6", "-5", "²", "٨٠", "1e2", "80.5"):
        with pytest.raises(LimitError, match="Give up to 5 whole numbers from 1 to 100"):
            parse_percents(bad)


def test_rate_limits_and_gauges_have_no_alerts(org, owner):
    with pytest.raises(LimitError, match="has no usage alerts"):
        thresholds_set(organization=org, actor=owner, dimension="seats", percents=[80])


# --- crossing where usage is counted -------------------------------------------------------


def test_passing_80_percent_by_ingestion_tells_everyone_exactly_once(
    org, owner, admin_user, busy, receiver, django_capture_on_commit_callbacks
):
    _, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
    membership_alert_emails_set(
        membership=Membership.objects.get(user=admin_user), on=False, actor=admin_user
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(busy, 79)
    assert kinds(busy) == []
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        ingest(busy, 2)  # 79 -> 81: past 80 %
        ingest(busy, 5)  # further use in the window: no second alert
    assert kinds(busy) == ["threshold_80"]
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@busy.test", owner.email]
    to_customer = next(m for m in mail.outbox if m.to == ["admin@busy.test"])
    assert to_customer.subject == "Busy Co has used 80% of its events per day"
    assert "81 of 100" in to_customer.body
    assert "/portal/usage/" in to_customer.body
    to_owner = next(m for m in mail.outbox if m.to == [owner.email])
    assert f"/settings/customers/{busy.pk}/" in to_owner.body
    deliver_now()
    crossed = [e for e in receiver.events(secret) if e["type"] == "usage.threshold_crossed"]
    assert len(crossed) == 1
    assert crossed[0]["data"]["changes"]["percent"] == [None, 80]
    emailed = AuditEntry.objects.for_organization(org).get(action="usage.alert_emailed")
    assert emailed.changes["customer_admins"] == [None, 1]
    assert emailed.changes["organization_people"] == [None, 1]  # the admin opted out


def test_one_batch_can_cross_two_thresholds_and_the_limit_refuses_the_rest(busy):
    ingest(busy, 100)
    assert kinds(busy) == ["threshold_100", "threshold_80"]
    assert not consume(busy, "events_per_day").allowed
    assert kinds(busy) == ["threshold_100", "threshold_80"]  # a refusal alone is not a crossing


def test_a_refused_batch_alerts_nothing(busy):
    from billing.services import QuotaExceeded

    with pytest.raises(QuotaExceeded):
        ingest(busy, 101)
    assert kinds(busy) == []


def test_a_new_window_rearms_the_thresholds(busy):
    with time_machine.travel(NOON, tick=False):
        ingest(busy, 85)
    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        ingest(busy, 85)
    notices = QuotaNotice.objects.for_customer(busy).filter(kind="threshold_80")
    assert notices.count() == 2
    assert len({n.window_start for n in notices}) == 2


def test_unlimited_dimensions_never_alert(org, owner):
    customer = make_customer(org, actor=owner, plan="Enterprise")  # events: unlimited
    ingest(customer, 500)
    assert kinds(customer) == []


def test_an_alert_is_emailed_once_even_if_the_task_runs_twice(busy):
    from billing.services import usage_alert_send

    ingest(busy, 80)
    notice = QuotaNotice.objects.for_customer(busy).get()
    mail.outbox.clear()
    assert usage_alert_send.call(notice.pk) == 2
    assert usage_alert_send.call(notice.pk) == 0
    assert len(mail.outbox) == 2


# --- the forecast --------------------------------------------------------------------------


def test_forecast_arithmetic_on_fixed_numbers():
    start, end = NOON.replace(hour=0), NOON.replace(hour=0) + timedelta(days=1)
    half = forecast_usage(used=60, limit=100, window_start=start, window_end=end, now=NOON)
    assert half.projected == 120  # 60 in half a day: 120 by midnight
    assert half.hits_at == NOON + timedelta(hours=8)  # 40 more at 5 an hour
    calm = forecast_usage(used=30, limit=100, window_start=start, window_end=end, now=NOON)
    assert (calm.projected, calm.hits_at) == (60, None)
    # With history, early in the window the earlier windows weigh most.
    early = start + timedelta(hours=2.4)  # a tenth of the day
    shaped = forecast_usage(
        used=5, limit=100, window_start=start, window_end=end, now=early, previous_totals=[80]
    )
    assert shaped.projected == round(0.1 * 50 + 0.9 * 80)  # 77
    assert forecast_usage(used=1, limit=100, window_start=start, window_end=end, now=start) is None
    done = forecast_usage(used=100, limit=100, window_start=start, window_end=end, now=NOON)
    assert done.hits_at == NOON
    assert forecast_usage(used=5, limit=None, window_start=start, window_end=end, now=NOON) is None


def test_the_forecast_is_kept_on_the_counter_and_alerts_once_per_window(busy, owner):
    with time_machine.travel(NOON, tick=False):
        ingest(busy, 51)  # 51 by noon: 102 projected, limit reached about 23:30
        ingest(busy, 1)  # still within the same 5 %: the forecast is not made again
    counter = UsageCounter.objects.for_customer(busy).get(dimension="events_per_day")
    assert counter.projected == 102
    assert counter.forecast_at is not None
    assert NOON < counter.forecast_at < NOON.replace(hour=23, minute=59)
    assert kinds(busy) == ["forecast"]
    entry = AuditEntry.objects.for_organization(busy.organization).get(
        action="usage.forecast_exceeds"
    )
    assert entry.changes["projected"] == [None, 102]


def test_the_limits_grid_sorts_by_forecast_and_says_when(owner_client, org, owner, busy):
    make_customer(org, actor=owner, name="Aaa Unused", plan="Enterprise")
    calm = make_customer(org, actor=owner, name="Aardvark Calm", plan="Enterprise")
    override_set(customer=calm, dimension="events_per_day", value=1000, reason="test", actor=owner)
    with time_machine.travel(NOON, tick=False):
        ingest(calm, 60)
        ingest(busy, 60)
        url = reverse("billing:customer_limits")
        by_name = owner_client.get(url).context["grid"]
        by_forecast = owner_client.get(url + "?sort=forecast")
    assert [c.name for c, _ in by_name][:3] == ["Aaa Unused", "Aardvark Calm", "Busy Co"]
    # Busy Co reaches its limit today; Aardvark Calm is projected at 12% of its own; then names.
    assert [c.name for c, _ in by_forecast.context["grid"]][:3] == [
        "Busy Co",
        "Aardvark Calm",
        "Aaa Unused",
    ]
    page = by_forecast.content.decode()
    assert re.search(r"will hit the limit on <time [^>]*>2026-11-18 20:00 UTC</time>", page)
    assert 'value="forecast" selected' in by_forecast.content.decode()


def test_the_customer_page_shows_the_projection(owner_client, busy):
    with time_machine.travel(NOON, tick=False):
        ingest(busy, 60)
        page = owner_client.get(busy.get_absolute_url()).content.decode()
    assert "usage-projection" in page
    assert "At this rate it reaches the limit around" in page


# --- Overview, opt-out, digest ---------------------------------------------------------------


def test_the_overview_lists_alerts_and_each_person_can_opt_out(owner_client, org, owner, busy):
    ingest(busy, 80)
    page = owner_client.get(reverse("home")).content.decode()
    assert "Busy Co</a>" in page
    assert "reached 80% of its events per day" in page
    response = owner_client.post(reverse("alert_emails"), {"usage_alert_emails": "off"})
    assert response.status_code == 302
    assert not Membership.objects.get(user=owner).usage_alert_emails
    entry = AuditEntry.objects.for_organization(org).get(action="membership.alert_emails_changed")
    assert entry.changes == {"usage_alert_emails": [True, False]}
    assert (
        "Emails to you: <strong>off</strong>" in owner_client.get(reverse("home")).content.decode()
    )


def test_the_overview_shows_only_alerts_that_still_hold(owner_client, org, owner, busy):
    """An alert agrees with the limit in force and the time: a raised limit, a forecast whose
    time has passed and a window that has ended each take it off the Overview."""
    with time_machine.travel(NOON, tick=False):
        ingest(busy, 60)  # on course to reach 100 around 20:00
        ingest(busy, 20)  # and at 80%
        page = owner_client.get(reverse("home")).content.decode()
        assert "reached 80% of its events per day" in page
        assert "is on course to reach" in page
        override_set(
            customer=busy, dimension="events_per_day", value=10_000, reason="more", actor=owner
        )
        page = owner_client.get(reverse("home")).content.decode()
        assert "Busy Co</a>" not in page  # (80 of 100) no longer says anything true
    override_set(customer=busy, dimension="events_per_day", value=100, reason="back", actor=owner)
    with time_machine.travel(NOON + timedelta(hours=9), tick=False):  # 21:00: forecast passed
        page = owner_client.get(reverse("home")).content.decode()
        assert "reached 80%" in page
        assert "is on course to reach" not in page
    with time_machine.travel(NOON + timedelta(days=1), tick=False):  # a new day, a new window
        assert "Busy Co</a>" not in owner_client.get(reverse("home")).content.decode()


def test_viewers_get_no_alert_emails_and_no_switch(viewer_client, org):
    assert "Emails to you" not in viewer_client.get(reverse("home")).content.decode()
    refused = viewer_client.post(reverse("alert_emails"), {"usage_alert_emails": "off"})
    assert refused.status_code == 403
    assert AuditEntry.objects.for_organization(org).filter(action="permission.denied")


def test_the_weekly_digest_goes_once_with_those_over_and_closest(
    org, owner, busy, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        ingest(busy, 100)
        near = make_customer(org, actor=owner, name="Near Co", plan="Free")  # 1,000 a day
        ingest(near, 300)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert usage_digest_send(org) == 1
            assert usage_digest_send(org) == 0  # the same week
    assert len(mail.outbox) == 1
    assert UsageDigest.objects.for_organization(org).count() == 1
    body = mail.outbox[-1].body if mail.outbox else ""
    assert "Busy Co: events per day, 100 of 100" in body
    assert "Near Co: 30% of events per day (300 of 1,000)" in body
    assert AuditEntry.objects.for_organization(org).filter(action="usage.digest_sent").count() == 1


def test_the_digest_command_names_each_organization(org, owner, capsys):
    call_command("usage_digest")
    assert f"{org.name}: sent to 1" in capsys.readouterr().out


# --- the Usage alerts page ----------------------------------------------------------------------


URL = "/settings/billing/alerts/"


def test_owners_set_a_plans_percents_and_it_is_audited(owner_client, org):
    plan = Plan.objects.for_organization(org).get(name="Pro")
    response = owner_client.post(
        f"{URL}?plan={plan.pk}",
        {
            "events_per_day_mode": "custom",
            "events_per_day_percents": "50, 90",
            "executions_per_month_mode": "none",
            "executions_per_month_percents": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?plan={plan.pk}"
    applied = thresholds_at(org.pk, plan_id=plan.pk)
    assert applied["events_per_day"].percents == (50, 90)
    assert applied["executions_per_month"].percents == ()
    assert AuditEntry.objects.for_organization(org).filter(action="alert_thresholds.changed")


def test_bad_percents_are_refused_next_to_the_field_and_kept(owner_client, org):
    response = owner_client.post(
        URL,
        {
            "events_per_day_mode": "custom",
            "events_per_day_percents": "80, 250",
            "executions_per_month_mode": "inherit",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Give up to 5 whole numbers from 1 to 100" in page
    assert "Nothing was saved." in page  # said at the top, which takes the focus
    assert "“250” is not a whole number from 1 to 100" in page
    assert 'value="80, 250"' in page
    assert not AuditEntry.objects.for_organization(org).filter(action="alert_thresholds.changed")


def test_viewers_read_the_page_and_cannot_save(viewer_client, org):
    assert viewer_client.get(URL).status_code == 200
    response = viewer_client.post(URL, {"events_per_day_mode": "none"})
    assert response.status_code == 403
    assert AuditEntry.objects.for_organization(org).filter(action="permission.denied")


def test_another_organizations_plan_or_customer_is_a_404(outsider_client, busy):
    assert outsider_client.get(f"{URL}?customer={busy.pk}").status_code == 404
    assert outsider_client.get(f"{URL}?plan={busy.plan_id}").status_code == 404
    assert outsider_client.get(f"{URL}?plan=not-a-uuid").status_code == 404


def test_a_customers_page_sets_its_own(owner_client, busy):
    response = owner_client.post(
        f"{URL}?customer={busy.pk}",
        {
            "events_per_day_mode": "custom",
            "events_per_day_percents": "95",
            "executions_per_month_mode": "inherit",
        },
    )
    assert response.status_code == 302
    assert thresholds_at(busy.organization_id, customer=busy)["events_per_day"].source == (
        "customer"
    )
    page = owner_client.get(f"{URL}?customer={busy.pk}").content.decode()
    assert "Use its plan&#x27;s (Enterprise): 80%, 100%" in page


# --- the API ----------------------------------------------------------------------------------


def test_the_api_reads_and_sets_a_customers_thresholds(org, owner, busy):
    from customers.services import api_token_create
    from tests.api.conftest import ApiClient

    api = ApiClient(api_token_create(organization=org, name="backend", actor=owner)[1])
    path = f"/customer/{busy.pk}/alert-thresholds"
    got = api.get(path).json()
    assert {t["dimension"] for t in got} == {"events_per_day", "executions_per_month"}
    assert got[0]["percents"] == [80, 100]
    assert got[0]["source"] == "default"
    put = api.put(path, {"thresholds": {"events_per_day": [70, 90]}})
    assert put.status_code == 200
    events = next(t for t in put.json() if t["dimension"] == "events_per_day")
    assert events == {
        "dimension": "events_per_day",
        "label": "Events per day",
        "percents": [70, 90],
        "source": "customer",
        "customer_percents": [70, 90],
    }
    assert api.put(path, {"thresholds": {"events_per_day": [0]}}).status_code == 422
    refused = api.put(path, {"thresholds": {"seats": [80]}})
    assert refused.status_code == 422
    assert "has no usage alerts" in refused.text
    entry = AuditEntry.objects.for_organization(org).get(action="alert_thresholds.changed")
    assert entry.actor_type == "token"


def test_the_api_is_scoped(org, owner, other_org, outsider, busy):
    from customers.services import api_token_create
    from tests.api.conftest import ApiClient

    theirs = ApiClient(api_token_create(organization=other_org, name="x", actor=outsider)[1])
    path = f"/customer/{busy.pk}/alert-thresholds"
    assert theirs.get(path).status_code == 404
    assert theirs.put(path, {"thresholds": {"events_per_day": [50]}}).status_code == 404
    own = ApiClient(
        api_token_create(organization=org, customer=busy, name="c", actor=owner)[1],
        header="Fastly-Key",
    )
    assert own.get(path).status_code == 200
    assert own.put(path, {"thresholds": {"events_per_day": [50]}}).status_code == 403


def test_executions_alert_too(org, owner):
    customer = make_customer(org, actor=owner, plan="Free")  # 500 executions a month
    item = {
        "workflow": "sync",
        "triggered_by": "scheduler",
        "status": "succeeded",
        "started_at": datetime.now(UTC),
    }
    executions_ingest(customer=customer, items=[item] * 400)
    assert "threshold_80" in kinds(customer)


def test_a_refusal_before_any_100_percent_alert_is_emailed_once(
    busy, owner, django_capture_on_commit_callbacks
):
    from billing.services import QuotaExceeded, refused

    ingest(busy, 70)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with pytest.raises(QuotaExceeded) as error:
                ingest(busy, 50)  # all or nothing: usage never reaches 80 %
            refused(busy, error.value.consumption, "events.refused", None)
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@busy.test", owner.email]
    assert mail.outbox[0].subject == "Busy Co was refused: events per day used up"


def test_a_refusal_after_the_100_percent_alert_sends_nothing_more(
    busy, django_capture_on_commit_callbacks
):
    from billing.services import refused

    with django_capture_on_commit_callbacks(execute=True):
        ingest(busy, 100)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refused(busy, consume(busy, "events_per_day"), "events.refused", None)
    assert mail.outbox == []
    assert "exceeded" in kinds(busy)


def test_a_new_limit_in_the_same_window_rearms_the_thresholds(busy, owner):
    ingest(busy, 80)
    override_set(customer=busy, dimension="events_per_day", value=1000, reason="more", actor=owner)
    ingest(busy, 720)  # 800 of the new 1,000
    limits = QuotaNotice.objects.for_customer(busy).filter(kind="threshold_80")
    assert sorted(limits.values_list("limit_value", flat=True)) == [100, 1000]


def test_a_forecast_that_no_longer_holds_is_not_shown_and_the_hourly_pass_remakes_it(
    owner_client, busy
):
    from billing.services import forecasts_refresh

    early = NOON.replace(hour=2)
    with time_machine.travel(early, tick=False):
        ingest(busy, 10)  # 10 by 02:00: on course for 120 by midnight, the limit at 20:00
    counter = UsageCounter.objects.for_customer(busy).get(dimension="events_per_day")
    assert counter.forecast_at == NOON.replace(hour=20)
    with time_machine.travel(NOON.replace(hour=22), tick=False):  # nothing more was used
        page = owner_client.get(busy.get_absolute_url()).content.decode()
        grid = owner_client.get(reverse("billing:customer_limits") + "?sort=forecast")
        assert "reaches the limit" not in page
        assert "will hit the limit on Nov" not in grid.content.decode()
        assert forecasts_refresh([busy]) == 1
    counter.refresh_from_db()
    assert (counter.projected, counter.forecast_at) == (11, None)  # 10 in 22 of 24 hours


def test_days_without_usage_count_as_zero_in_the_history(busy):
    from billing.dimensions import DIMENSIONS
    from billing.limits.services.forecasts import history

    spec = DIMENSIONS["events_per_day"]
    start = NOON.replace(hour=0)
    three_days_ago = start - timedelta(days=3)
    created_long_ago = start - timedelta(days=30)
    assert history({three_days_ago: 1000}, spec, start, created_long_ago) == [0, 0, 1000]
    created_yesterday = start - timedelta(hours=20)
    assert history({}, spec, start, created_yesterday) == [0]  # only the days it existed


def test_the_portal_shows_usage_without_internal_wording(org, owner, busy):
    from django.test import Client

    from customers.models import CustomerUser

    admin = CustomerUser.objects.for_customer(busy).get(role="superuser").user
    admin.set_password("pw-for-the-portal")
    admin.save()
    client = Client()
    client.force_login(admin)
    page = client.get("/portal/usage/").content.decode()
    assert "Events per day" in page
    assert "overridden" not in page
    assert "Plan default" not in page
