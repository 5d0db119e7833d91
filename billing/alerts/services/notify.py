"""Who hears about usage: the emails of an alert (the customer's admins, and the
organization's owners and admins who have not opted out) and the weekly digest. Both run in
the background worker and are audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from billing.alerts.models import QuotaNotice, UsageDigest
from billing.dimensions import ALERTING, DIMENSIONS
from billing.limits.models import UsageCounter
from billing.limits.services.limits import effective_limits_for
from customers.platform import mail
from customers.selectors import Customer, CustomerStatus, CustomerUser, Membership, Organization

logger = logging.getLogger(__name__)
DIGEST_SIZE = 10


def organization_alert_emails(organization_id: Any) -> list[str]:
    """Owners and admins who keep usage alerts on (Overview → Alerts → Emails to you)."""
    return list(
        Membership.objects.filter(
            organization_id=organization_id,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            usage_alert_emails=True,
            user__is_active=True,
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )


@task()
def usage_alert_send(notice_id: int) -> int:
    """Email one alert, once: the notice is claimed first (emailed_at), so a task that runs
    twice sends nothing the second time. Returns how many emails went out."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            QuotaNotice.objects.for_worker()
            .filter(pk=notice_id, emailed_at__isnull=True)
            .update(emailed_at=now)
        )
    if not claimed:
        return 0
    notice = (
        QuotaNotice.objects.for_worker().select_related("customer__organization").get(pk=notice_id)
    )
    if notice.kind == QuotaNotice.Kind.EXCEEDED and _told_at_100(notice):
        return 0  # the 100% alert of this window and limit said it first
    return _email_alert(notice)


def _told_at_100(notice: QuotaNotice) -> bool:
    return (
        QuotaNotice.objects.for_organization(notice.organization_id)
        .filter(
            customer_id=notice.customer_id,
            dimension=notice.dimension,
            window_start=notice.window_start,
            limit_value=notice.limit_value,
            kind="threshold_100",
        )
        .exists()
    )


def _email_alert(notice: QuotaNotice) -> int:
    customer = notice.customer
    organization = customer.organization
    context = {
        "notice": notice,
        "customer": customer,
        "organization": organization,
        "dimension": DIMENSIONS[notice.dimension],
        "reset_at": DIMENSIONS[notice.dimension].window_end(notice.window_start),
        "portal_url": f"{settings.SITE_URL}{reverse('portal:usage')}",
        "console_url": f"{settings.SITE_URL}{customer.get_absolute_url()}",
    }
    # A refusal by the shared (pooled) cap is the organization's to solve, not the customer's.
    to_customer = [] if notice.kind == "exceeded_pool" else CustomerUser.admin_emails(customer)
    to_organization = organization_alert_emails(organization.pk)
    letters = [
        (mail.letter("billing/email/alert", {**context, "for": who}), addresses)
        for who, addresses in (("customer", to_customer), ("organization", to_organization))
    ]
    try:
        sent = mail.send_each(letters)
    except Exception as error:  # SMTP down, a refused address: audited, never a crash loop
        logger.exception("Usage alert %s could not be emailed", notice.pk)
        record(
            action=Action.USAGE_ALERT_EMAIL_FAILED,
            organization=organization,
            resource=customer,
            outcome=Outcome.FAILURE,
            message=f"{type(error).__name__}: the alert email was not sent.",
        )
        return 0
    record(
        action=Action.USAGE_ALERT_EMAILED,
        organization=organization,
        resource=customer,
        changes={
            "alert": [None, notice.kind],
            "dimension": [None, notice.dimension],
            "customer_admins": [None, len(to_customer)],
            "organization_people": [None, len(to_organization)],
        },
        message=f"Emailed to {', '.join(to_customer + to_organization) or 'nobody'}."[:500],
    )
    return sent


@dataclass(frozen=True)
class DigestRow:
    customer: Customer
    dimension: str
    used: int
    limit: int

    @property
    def percent(self) -> int:
        return 100 * self.used // self.limit  # floored, as alerts count

    @property
    def label(self) -> str:
        return DIMENSIONS[self.dimension].label


def digest_rows(organization_id: Any, now: datetime) -> list[DigestRow]:
    """Every customer's current usage of each alerting limit, highest share first."""
    windows = {d.key: d.window_start(now) for d in ALERTING}
    counters = [
        c
        for c in UsageCounter.objects.for_organization(organization_id)
        .filter(dimension__in=list(windows), window_start__gte=min(windows.values()), used__gt=0)
        .select_related("customer")
        .exclude(customer__status=CustomerStatus.DELETED)
        if c.window_start == windows[c.dimension]
    ]
    customers = list({c.customer_id: c.customer for c in counters}.values())
    limits: dict[Any, Any] = {}
    for i in range(0, len(customers), 1000):
        limits.update(effective_limits_for(customers[i : i + 1000], now=now))
    rows = [
        DigestRow(c.customer, c.dimension, c.used, limit)
        for c in counters
        if (limit := limits[c.customer_id][c.dimension].value)
    ]
    return sorted(rows, key=lambda r: (-r.used / r.limit, r.customer.name))


def usage_digest_send(organization: Organization, *, now: datetime | None = None) -> int:
    """This week's digest for one organization, at most once a week (the UsageDigest row's
    unique constraint decides). Returns how many people it went to; 0 if already sent."""
    now = now or timezone.now()
    week_start = (now - timedelta(days=now.weekday())).date()
    recipients = organization_alert_emails(organization.pk)
    rows = digest_rows(organization.pk, now)
    over = [r for r in rows if r.used >= r.limit]
    closest = [r for r in rows if r.used < r.limit][:DIGEST_SIZE]
    try:
        with transaction.atomic():
            UsageDigest.objects.create(
                organization=organization, week_start=week_start, recipients=len(recipients)
            )
            record(
                action=Action.USAGE_DIGEST_SENT,
                organization=organization,
                resource=organization,
                changes={
                    "customers_over": [None, len(over)],
                    "closest_listed": [None, len(closest)],
                    "recipients": [None, len(recipients)],
                },
            )
    except IntegrityError:
        return 0
    context = {
        "organization": organization,
        "over": over,
        "closest": closest,
        "week_start": week_start,
        "limits_url": f"{settings.SITE_URL}{reverse('billing:customer_limits')}?sort=forecast",
    }
    digest = mail.Letter(
        f"{organization.name}: weekly usage — {len(over)} at their limit",
        render_to_string("billing/email/digest.txt", context),
    )
    # After the commit: a mail failure is logged, never raised into a saved transaction.
    transaction.on_commit(lambda: mail.send_quietly(digest, recipients, "The usage digest"))
    return len(recipients)


def usage_digests_due(*, now: datetime | None = None) -> int:
    """Every organization's digest for this week that has not gone out yet (the worker's
    weekly job: it runs every minute and sends each week's digest once)."""
    now = now or timezone.now()
    week_start = (now - timedelta(days=now.weekday())).date()
    sent_already = UsageDigest.objects.for_worker().filter(week_start=week_start)
    pending = Organization.objects.exclude(pk__in=sent_already.values("organization_id")).order_by(
        "pk"
    )
    return sum(1 for organization in pending if usage_digest_send(organization, now=now))
