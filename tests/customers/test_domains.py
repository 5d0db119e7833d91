"""Verified domains: claiming a customer's mail domain, proving it with a DNS TXT record found
through a real DNS server on loopback, failing after 30 days, one customer per domain (raced on
PostgreSQL), the worker's pass, and the portal's and the console's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from audit.models import AuditEntry
from customers.identity.domains.models import VerifiedDomain
from customers.identity.domains.services import (
    ALREADY_ADDED,
    DOMAIN_INVALID,
    VERIFIED_ELSEWHERE,
    domain_add,
    domain_remove,
    domain_verify,
    domains_check_due,
    normalise_domain,
)
from customers.models import WebhookEvent
from customers.platform.errors import Conflict, Invalid
from tests.conftest import requires_postgres
from tests.factories import make_customer
from tests.threads import race


def publish(zone, claim: VerifiedDomain) -> None:
    zone.publish(claim.record_name, claim.record_value)


def entries(action: str):
    return AuditEntry.objects.unscoped().filter(action=action)


# --- the name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (" Example.COM. ", "example.com"),
        ("mail.example.co.uk", "mail.example.co.uk"),
        ("Bücher.example", "xn--bcher-kva.example"),
        # IDNA 2008, as registries write it: not strasse.de, someone else's domain.
        ("straße.de", "xn--strae-oqa.de"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),
        ("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 37 + ".com", None),
    ],
)
def test_a_domain_is_stored_as_dns_writes_it(typed, stored):
    assert normalise_domain(typed) == (stored or typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "example",
        "https://example.com",
        "jane@example.com",
        "example.com/login",
        "exa mple.com",
        "-example.com",
        "example-.com",
        "1.2.3.4",
        "a" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
        # 234 characters: _tenantry-challenge.<it> would pass DNS's 253.
        "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 38 + ".com",
        "example..com",
        "exam\x00ple.com",
    ],
)
def test_what_is_not_a_domain_name_is_refused_in_plain_words(typed):
    with pytest.raises(Invalid, match=r"Enter a domain name such as example\.com"):
        normalise_domain(typed)


@given(st.text(max_size=300))
def test_any_text_is_a_domain_or_a_clear_refusal(typed):
    try:
        name = normalise_domain(typed)
    except Invalid as refusal:
        refused = str(refusal)
    else:
        refused = DOMAIN_INVALID
        assert name == name.lower()
        assert len(name) <= 253
        assert name.isascii()
    assert refused == DOMAIN_INVALID


# --- adding -----------------------------------------------------------------------------------


def test_adding_a_domain_gives_a_pending_claim_with_its_record(org, owner, acme):
    claim = domain_add(customer=acme, domain="Acme.example", actor=owner)
    assert claim.status == VerifiedDomain.Status.PENDING
    assert claim.record_name == "_tenantry-challenge.acme.example"
    assert claim.record_value.startswith("tenantry-verification=")
    assert len(claim.token) == 32
    entry = entries("domain.added").get()
    assert entry.resource_label == "acme.example (Acme Co)"
    assert entry.outcome == "success"


def test_public_mail_services_are_refused_and_the_refusal_audited(owner, acme):
    with pytest.raises(Invalid, match=r"gmail\.com is a public mail service"):
        domain_add(customer=acme, domain="GMail.com", actor=owner)
    assert entries("domain.added").get().outcome == "failure"
    assert not VerifiedDomain.objects.for_customer(acme).exists()


def test_the_same_domain_twice_for_one_customer_is_refused(owner, acme):
    domain_add(customer=acme, domain="acme.example", actor=owner)
    with pytest.raises(Conflict, match=ALREADY_ADDED.format(name="Acme Co", domain="acme.example")):
        domain_add(customer=acme, domain="ACME.example.", actor=owner)


def test_a_deleted_customer_gets_no_domain(owner, acme):
    from customers.services import customer_delete

    customer_delete(customer=acme, actor=owner)
    acme.refresh_from_db()
    with pytest.raises(Exception, match="is deleted"):
        domain_add(customer=acme, domain="acme.example", actor=owner)


# --- proving it -------------------------------------------------------------------------------


def test_the_published_token_verifies_the_domain_and_tells_the_webhooks(dns_zone, org, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    publish(dns_zone, claim)
    done = domain_verify(domain=claim, actor=owner)
    assert done.status == VerifiedDomain.Status.VERIFIED
    assert done.verified_at is not None
    assert done.last_result == "Found the TXT record: acme.example is verified."
    assert dns_zone.queries == ["_tenantry-challenge.acme.example"]
    entry = entries("domain.verified").get()
    assert entry.outcome == "success"
    assert entry.changes == {"status": ["pending", "verified"]}
    event = WebhookEvent.objects.for_organization(org).get(type="domain.verified")
    assert event.customer_id == acme.pk
    assert event.data["resource"]["type"] == "verifieddomain"
    # A verified domain stays verified: checking again asks nothing and records nothing.
    assert domain_verify(domain=done, actor=owner).status == "verified"
    assert len(dns_zone.queries) == 1
    assert entries("domain.verified").count() == 1


def test_no_record_yet_leaves_it_pending_and_says_what_was_looked_for(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    checked = domain_verify(domain=claim, actor=owner)
    assert checked.status == "pending"
    assert checked.last_checked_at is not None
    assert checked.last_result == (
        f"No TXT record {claim.record_value} at _tenantry-challenge.acme.example yet. "
        "DNS changes can take a few minutes to appear."
    )
    failed = entries("domain.verification_failed").get()
    assert failed.outcome == "failure"
    assert failed.message == checked.last_result


def test_other_txt_records_are_not_taken_for_the_token(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    dns_zone.publish(claim.record_name, "v=spf1 -all", claim.record_value[:-1])
    checked = domain_verify(domain=claim, actor=owner)
    assert checked.status == "pending"
    assert "has TXT records, but none is" in checked.last_result


def test_a_dns_server_that_does_not_answer_is_said_so(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    publish(dns_zone, claim)
    dns_zone.delay = 1.0
    checked = domain_verify(domain=claim, actor=owner)
    assert checked.status == "pending"
    assert checked.last_result.startswith("No DNS server answered for _tenantry-challenge.acme")


def test_thirty_days_without_the_record_fail_it_for_good(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    failed = domain_verify(domain=claim, actor=owner, now=claim.created_at + timedelta(days=30))
    assert failed.status == "failed"
    assert failed.last_result == "Still no TXT record after 30 days: verification failed."
    publish(dns_zone, claim)
    with pytest.raises(Conflict, match="Remove it and add it again"):
        domain_verify(domain=failed, actor=owner)
    domain_remove(domain=failed, actor=owner)
    assert domain_add(customer=acme, domain="acme.example", actor=owner).token != claim.token


def test_a_domain_verified_by_one_customer_is_refused_to_the_others(dns_zone, org, owner, acme):
    widget = make_customer(org, actor=owner, name="Widget")
    first = domain_add(customer=acme, domain="shared.example", actor=owner)
    second = domain_add(customer=widget, domain="shared.example", actor=owner)
    publish(dns_zone, first)
    publish(dns_zone, second)
    assert domain_verify(domain=first, actor=owner).status == "verified"
    lost = domain_verify(domain=second, actor=owner)
    assert lost.status == "pending"
    assert lost.last_result == VERIFIED_ELSEWHERE.format(domain="shared.example", org=org.name)
    third = make_customer(org, actor=owner, name="Third")
    with pytest.raises(Conflict, match="verified by another customer"):
        domain_add(customer=third, domain="shared.example", actor=owner)


def test_another_organization_may_verify_the_same_domain(dns_zone, owner, acme, other_org):
    theirs = make_customer(other_org, name="Theirs")
    for customer in (acme, theirs):
        claim = domain_add(customer=customer, domain="shared.example", actor=None)
        publish(dns_zone, claim)
        assert domain_verify(domain=claim, actor=None).status == "verified"


def test_removing_a_domain_is_audited(owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    domain_remove(domain=claim, actor=owner)
    assert not VerifiedDomain.objects.for_customer(acme).exists()
    assert entries("domain.removed").get().changes == {"status": ["pending", None]}


def test_the_worker_checks_each_pending_domain_once_an_hour(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    domain_add(customer=acme, domain="later.example", actor=owner)
    assert domains_check_due() == 2
    assert domains_check_due() == 0  # both checked this hour
    publish(dns_zone, claim)
    now = claim.created_at + timedelta(hours=1, minutes=1)
    assert domains_check_due(now=now) == 2
    statuses = dict(VerifiedDomain.objects.for_customer(acme).values_list("domain", "status"))
    assert statuses == {"acme.example": "verified", "later.example": "pending"}


def test_a_customer_holds_at_most_twenty_domains(owner, acme):
    for n in range(20):
        domain_add(customer=acme, domain=f"d{n}.example", actor=owner)
    with pytest.raises(Conflict, match="has 20 domains already"):
        domain_add(customer=acme, domain="one-more.example", actor=owner)


def test_a_domain_removed_during_its_check_is_a_refusal_not_an_error(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    publish(dns_zone, claim)
    stale = VerifiedDomain.objects.for_customer(acme).select_related("customer").get()
    domain_remove(domain=claim, actor=owner)
    with pytest.raises(Conflict, match=r"acme\.example was removed meanwhile"):
        domain_verify(domain=stale, actor=owner)
    with pytest.raises(Conflict, match="removed meanwhile"):
        domain_remove(domain=stale, actor=owner)


def test_a_suspended_customers_domains_are_not_checked(dns_zone, owner, acme):
    from customers.services import customer_suspend

    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    publish(dns_zone, claim)
    customer_suspend(customer=acme, actor=owner)
    claim.refresh_from_db()
    with pytest.raises(Exception, match="is suspended: its domains are not checked"):
        domain_verify(domain=claim, actor=owner)
    assert domains_check_due() == 0
    assert dns_zone.queries == []


def test_one_organization_takes_at_most_two_checks_of_a_pass(dns_zone, org, owner, other_org):
    mine = make_customer(org, actor=owner, name="Many")
    for n in range(5):
        domain_add(customer=mine, domain=f"d{n}.example", actor=owner)
    theirs = make_customer(other_org, name="One")
    domain_add(customer=theirs, domain="one.example", actor=None)
    assert domains_check_due() == 3
    checked = VerifiedDomain.objects.for_worker().filter(last_checked_at__isnull=False)
    assert sorted(checked.values_list("domain", flat=True)) == [
        "d0.example",
        "d1.example",
        "one.example",
    ]


def test_the_workers_look_that_changes_nothing_is_not_audited(dns_zone, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    assert domains_check_due() == 1
    claim.refresh_from_db()
    assert claim.last_checked_at is not None
    assert claim.last_result.startswith("No TXT record")
    assert not entries("domain.verification_failed").exists()


@pytest.mark.parametrize(
    ("setting", "address", "port"),
    [
        ("192.0.2.1", "192.0.2.1", 53),
        ("192.0.2.1:5353", "192.0.2.1", 5353),
        ("2001:db8::1", "2001:db8::1", 53),
        ("[2001:db8::1]:5353", "2001:db8::1", 5353),
    ],
)
def test_nameserver_settings_read_as_written(setting, address, port):
    from customers.platform.dns import nameserver

    server = nameserver(setting)
    assert (server.address, server.port) == (address, port)


@pytest.mark.parametrize("setting", ["dns.example", "[::1", "192.0.2.1:port", ""])
def test_a_nameserver_setting_that_is_no_address_fails_the_start_up_check(settings, setting):
    from customers.identity.domains.checks import dns_nameservers_check

    settings.DNS_NAMESERVERS = [setting]
    assert [problem.id for problem in dns_nameservers_check()] == ["customers.E001"]


# --- races on PostgreSQL ----------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_verifying_two_customers_claims_verify_one(dns_zone, org, owner):
    claims = []
    for name in ("Acme", "Widget"):
        claim = domain_add(
            customer=make_customer(org, actor=owner, name=name), domain="x.example", actor=owner
        )
        publish(dns_zone, claim)
        claims.append(claim)
    assert race(8, lambda n: domain_verify(domain=claims[n % 2], actor=owner)) == []
    rows = VerifiedDomain.objects.for_organization(org).filter(domain="x.example")
    assert sorted(rows.values_list("status", flat=True)) == ["pending", "verified"]
    assert entries("domain.verified").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_adds_of_one_domain_make_one_claim(org, owner):
    customer = make_customer(org, actor=owner)
    errors = race(8, lambda n: domain_add(customer=customer, domain="x.example", actor=owner))
    assert len(errors) == 7
    assert all(isinstance(e, Conflict) for e in errors)
    assert VerifiedDomain.objects.for_customer(customer).count() == 1


# --- the console's page -----------------------------------------------------------------------


def test_an_owner_adds_a_domain_for_a_customer(owner_client, acme):
    url = reverse("customers:domains", args=[acme.pk])
    assert owner_client.post(url, {"domain": "acme.example"}).status_code == 302
    page = owner_client.get(url).content.decode()
    assert "acme.example" in page
    assert "_tenantry-challenge.acme.example" in page


def test_a_viewer_reads_the_domains_but_changes_nothing(viewer_client, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    url = reverse("customers:domains", args=[acme.pk])
    page = viewer_client.get(url)
    assert page.status_code == 200
    assert "Add a domain" not in page.content.decode()
    assert viewer_client.post(url, {"domain": "other.example"}).status_code == 403
    for name in ("customers:domain_check", "customers:domain_remove"):
        assert viewer_client.post(reverse(name, args=[acme.pk, claim.pk])).status_code == 403
    assert VerifiedDomain.objects.for_customer(acme).count() == 1
    assert entries("permission.denied").count() == 3


def test_another_organizations_customer_and_domains_are_404(outsider_client, owner, acme):
    claim = domain_add(customer=acme, domain="acme.example", actor=owner)
    assert outsider_client.get(reverse("customers:domains", args=[acme.pk])).status_code == 404
    for name in ("customers:domain_check", "customers:domain_remove"):
        assert outsider_client.post(reverse(name, args=[acme.pk, claim.pk])).status_code == 404
    assert VerifiedDomain.objects.for_customer(acme).exists()


def test_a_domain_of_another_customer_is_404_under_this_one(owner_client, org, owner, acme):
    widget = make_customer(org, actor=owner, name="Widget")
    theirs = domain_add(customer=widget, domain="widget.example", actor=owner)
    url = reverse("customers:domain_remove", args=[acme.pk, theirs.pk])
    assert owner_client.post(url).status_code == 404


def test_the_console_page_reads_the_same_queries_for_one_domain_or_ten(
    owner_client, owner, acme, django_assert_max_num_queries
):
    from tests.queries import tables_read

    url = reverse("customers:domains", args=[acme.pk])
    domain_add(customer=acme, domain="d0.example", actor=owner)
    one = tables_read(owner_client, url)
    for n in range(1, 10):
        domain_add(customer=acme, domain=f"d{n}.example", actor=owner)
    assert tables_read(owner_client, url) == one
