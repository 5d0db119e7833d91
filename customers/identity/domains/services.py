"""Claiming, proving and removing a customer's mail domains, each audited in its transaction;
and the worker's pass over the domains still waiting for their record."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections import Counter
from datetime import datetime, timedelta

import idna
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.domains.models import VerifiedDomain
from customers.identity.models import ApiToken, User
from customers.platform.dns import LookupFailed, txt_records
from customers.platform.errors import Conflict, Invalid, ServiceError
from customers.records.models import CLOSED_STATUSES, Customer, CustomerStatus
from customers.records.services.common import (
    CUSTOMER_DELETED_NO_CHANGES,
    audited,
    locked_customer,
)

Actor = User | ApiToken | None

# Anyone can have an address at these, so none of them can say who works for a customer.
CONSUMER_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "rocketmail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "tuta.io",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "libero.it",
    ]
)

DOMAIN_INVALID = "Enter a domain name such as example.com: no https://, no @ and no path."
CONSUMER_REFUSED = (
    "{domain} is a public mail service: anyone can have an address there, so it cannot say "
    "who works for {name}. Add your company's own domain."
)
ALREADY_ADDED = "{name} already has {domain}."
VERIFIED_ELSEWHERE = (
    "{domain} is verified by another customer of {org}: a domain can route sign-ins for one "
    "customer only."
)
FAILED_ADD_AGAIN = (
    "{domain} was not verified within 30 days. Remove it and add it again for a new token."
)
FOUND = "Found the TXT record: {domain} is verified."
NOT_FOUND = "No TXT record {value} at {name} yet. DNS changes can take a few minutes to appear."
OTHER_RECORDS = (
    "{name} has TXT records, but none is {value}. Check that the value was copied whole."
)
GAVE_UP = "Still no TXT record after 30 days: verification failed."
REMOVED = "{domain} was removed meanwhile."
CLOSED = "{name} is {status}: its domains are not checked until it is {reopened}."
DOMAINS_FULL = "{name} has {limit} domains already; remove one before adding another."

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
CHECK_EVERY = timedelta(hours=1)
# A pass stops after this many checks or seconds, so DNS that answers slowly (each lookup may
# wait DNS_TIMEOUT_SECONDS) cannot hold the worker from the other organizations' jobs.
CHECKS_PER_PASS = 20
PASS_SECONDS = 5.0
# And no organization takes more than this many of a pass, so one whose DNS is slow (or who
# added many domains) cannot keep the others' domains waiting.
CHECKS_PER_ORGANIZATION = 2
DOMAINS_PER_CUSTOMER = 20
# The TXT record's name (_tenantry-challenge.<domain>) must itself fit DNS's 253.
LONGEST = 253 - len("_tenantry-challenge.")


def normalise_domain(value: str) -> str:
    """The domain as DNS and the database hold it (lower case, IDNA 2008 with UTS #46 mapping,
    as browsers and registries write it: straße.de is xn--strae-oqa.de, not strasse.de), or
    Invalid."""
    text = value.strip().removesuffix(".")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise Invalid(DOMAIN_INVALID) from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > LONGEST
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()  # an address, not a name
    ):
        raise Invalid(DOMAIN_INVALID)
    return ascii_name


@audited(Action.DOMAIN_ADDED)
@transaction.atomic
def domain_add(*, customer: Customer, domain: str, actor: Actor) -> VerifiedDomain:
    """A pending claim with a fresh token, to publish at ``_tenantry-challenge.<domain>``."""
    name = normalise_domain(domain)
    current = locked_customer(customer)
    if current.status == CustomerStatus.DELETED:
        raise ServiceError(CUSTOMER_DELETED_NO_CHANGES.format(name=current.name))
    if name in CONSUMER_DOMAINS:
        raise Invalid(CONSUMER_REFUSED.format(domain=name, name=current.name))
    claims = VerifiedDomain.objects.for_organization(current.organization_id).filter(domain=name)
    if VerifiedDomain.objects.for_customer(current).count() >= DOMAINS_PER_CUSTOMER:
        raise Conflict(DOMAINS_FULL.format(name=current.name, limit=DOMAINS_PER_CUSTOMER))
    if claims.filter(customer=current).exists():
        raise Conflict(ALREADY_ADDED.format(name=current.name, domain=name))
    if claims.filter(status=VerifiedDomain.Status.VERIFIED).exists():
        raise Conflict(VERIFIED_ELSEWHERE.format(domain=name, org=current.organization.name))
    try:
        with transaction.atomic():
            claim: VerifiedDomain = VerifiedDomain.objects.create(
                organization=current.organization,
                customer=current,
                domain=name,
                token=secrets.token_hex(16),
                created_by=actor if isinstance(actor, User) else None,
            )
    except IntegrityError:  # the same claim, added at the same moment
        raise Conflict(ALREADY_ADDED.format(name=current.name, domain=name)) from None
    record(
        action=Action.DOMAIN_ADDED,
        organization=current.organization,
        actor=actor,
        resource=claim,
        resource_label=f"{name} ({current.name})",
    )
    return claim


def _look(domain: VerifiedDomain) -> tuple[bool, str]:
    """Whether the token is published, and what the lookup found, in plain words."""
    try:
        published = txt_records(domain.record_name)
    except LookupFailed as failure:
        return False, str(failure)
    if domain.record_value in (text.strip() for text in published):
        return True, FOUND.format(domain=domain.domain)
    template = OTHER_RECORDS if published else NOT_FOUND
    return False, template.format(name=domain.record_name, value=domain.record_value)


def _locked(domain: VerifiedDomain) -> VerifiedDomain:
    current: VerifiedDomain | None = (
        VerifiedDomain.objects.for_organization(domain.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .filter(pk=domain.pk)
        .first()
    )
    if current is None:  # removed by someone else since it was read
        raise Conflict(REMOVED.format(domain=domain.domain))
    return current


@audited(Action.DOMAIN_VERIFIED)
def domain_verify(
    *, domain: VerifiedDomain, actor: Actor, now: datetime | None = None
) -> VerifiedDomain:
    """Look for the TXT record now (outside any transaction: no row is locked while DNS
    answers), then settle the claim: verified, still pending with what was found, or failed
    once 30 days have passed. A verified domain stays verified."""
    if domain.status == VerifiedDomain.Status.VERIFIED:
        return domain
    if domain.status == VerifiedDomain.Status.FAILED:
        raise Conflict(FAILED_ADD_AGAIN.format(domain=domain.domain))
    customer = domain.customer
    if customer.is_closed:
        raise ServiceError(
            CLOSED.format(
                name=customer.name,
                status=customer.get_status_display().lower(),
                reopened=customer.reopened_by,
            )
        )
    found, result = _look(domain)
    return _settle(domain, found=found, result=result, actor=actor, now=now or timezone.now())


def _verified(current: VerifiedDomain, now: datetime) -> bool:
    """Save ``current`` as verified, unless another customer's claim won the domain first
    (the database's constraint decides): then it stays pending and says so."""
    current.status, current.verified_at = VerifiedDomain.Status.VERIFIED, now
    try:
        with transaction.atomic():
            current.save()
    except IntegrityError:
        current.status, current.verified_at = VerifiedDomain.Status.PENDING, None
        current.last_result = VERIFIED_ELSEWHERE.format(
            domain=current.domain, org=current.customer.organization.name
        )
        return False
    return True


def _not_yet(current: VerifiedDomain, now: datetime) -> None:
    """Still no proof: pending with what was found, or failed once its 30 days are over."""
    if now >= current.fails_at:
        current.status, current.last_result = VerifiedDomain.Status.FAILED, GAVE_UP
    current.save()


@transaction.atomic
def _settle(
    domain: VerifiedDomain, *, found: bool, result: str, actor: Actor, now: datetime
) -> VerifiedDomain:
    current = _locked(domain)
    if current.status != VerifiedDomain.Status.PENDING:
        return current  # another check settled it meanwhile
    current.last_checked_at, current.last_result = now, result[:300]
    verified = found and _verified(current, now)
    if not verified:
        _not_yet(current, now)
        if actor is None and current.status == VerifiedDomain.Status.PENDING:
            return current  # the worker's hourly look that changed nothing: not an event
    record(
        action=Action.DOMAIN_VERIFIED if verified else Action.DOMAIN_VERIFICATION_FAILED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.domain} ({current.customer.name})",
        outcome=Outcome.SUCCESS if verified else Outcome.FAILURE,
        message="" if verified else current.last_result,
        changes={"status": ["pending", current.status]} if current.status != "pending" else {},
    )
    return current


@audited(Action.DOMAIN_REMOVED)
@transaction.atomic
def domain_remove(*, domain: VerifiedDomain, actor: Actor) -> None:
    current = _locked(domain)
    record(
        action=Action.DOMAIN_REMOVED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.domain} ({current.customer.name})",
        changes={"status": [current.status, None]},
    )
    current.delete()


def _due(now: datetime) -> list[VerifiedDomain]:
    """This pass's domains: the least recently checked first (never checked before all), at
    most CHECKS_PER_ORGANIZATION of each organization, CHECKS_PER_PASS in all."""
    candidates = (
        VerifiedDomain.objects.for_worker()
        .select_related("customer__organization")
        .filter(status=VerifiedDomain.Status.PENDING)
        .exclude(customer__status__in=CLOSED_STATUSES)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - CHECK_EVERY))
        .order_by(F("last_checked_at").asc(nulls_first=True), "created_at")
    )
    taken: Counter[object] = Counter()
    due: list[VerifiedDomain] = []
    for domain in candidates[: CHECKS_PER_PASS * 10]:
        if taken[domain.organization_id] < CHECKS_PER_ORGANIZATION:
            taken[domain.organization_id] += 1
            due.append(domain)
        if len(due) == CHECKS_PER_PASS:
            break
    return due


def domains_check_due(now: datetime | None = None) -> int:
    """The worker's pass: check the pending domains of open customers not checked in the last
    hour (see _due for which), stopping after PASS_SECONDS; a domain 30 days old without its
    record fails. Returns how many were checked."""
    now = now or timezone.now()
    deadline = time.monotonic() + PASS_SECONDS
    checked = 0
    for domain in _due(now):
        if time.monotonic() > deadline:
            break
        # Removed or settled meanwhile is a refusal domain_verify already audited.
        with contextlib.suppress(ServiceError):
            domain_verify(domain=domain, actor=None, now=now)
        checked += 1
    return checked
