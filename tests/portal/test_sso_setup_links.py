"""SSO setup links: an owner sends one from the console; the customer's IT contact opens it
(no account), sets up and tests a connection against a real provider, for that customer
only; a link works once, for an hour in the browser that opened it, within seven days, and
can be withdrawn. Viewers and other organizations are refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from customers.identity.sso.models import SsoConnection, SsoSetupLink
from customers.identity.sso.services import sso_connection_create
from tests.idp import oidc_provider
from tests.portal.test_portal_sso import SITE_URL, callback_of, form, onward_url, path_of

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def provider():
    with oidc_provider.running(SITE_URL) as running:
        yield running


@pytest.fixture(autouse=True)
def _loopback_provider(settings):
    settings.SSO_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _acme_ai_verified(acme):
    from tests.portal.test_portal_sso import verify_domain

    verify_domain(acme)  # links go to an address at a verified domain


def open_link(browser, url):
    """What the IT contact does: open the link (a page with a button), press the button."""
    shown = browser.get(path_of(url))
    assert shown.status_code == 200
    assert shown["Referrer-Policy"] == "same-origin"
    return browser.post(path_of(url))


def send_link(owner_client, customer, django_capture_on_commit_callbacks, email="it@acme.ai"):
    """The owner sends a link; the URL as the email carries it."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = owner_client.post(
            reverse("customers:sso_setup_link_send", args=[customer.pk]), {"email": email}
        )
    assert sent.status_code == 302
    page = owner_client.get(sent["Location"]).content.decode()
    (message,) = [m for m in mail.outbox if m.to == [email]]
    url = re.search(r"https?://\S+/sso/setup/\S+/", message.body).group(0)
    assert url in page  # shown once on the console too
    assert url not in owner_client.get(sent["Location"]).content.decode()
    return url


def test_an_it_contact_sets_up_and_tests_sso_through_a_link(
    provider, owner_client, acme, django_capture_on_commit_callbacks
):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    landed = open_link(it, url)
    assert landed.status_code == 302
    assert landed["Referrer-Policy"] == "no-referrer"
    assert landed["Location"] == reverse("sso_setup")
    page = it.get(reverse("sso_setup")).content.decode()
    assert "Single sign-on for Acme Co" in page

    created = it.post(reverse("sso_setup"), form(provider))
    assert created.status_code == 302, created.content.decode()[:1500]
    connection = SsoConnection.objects.for_customer(acme).get()
    assert callback_of(connection) in it.get(created["Location"]).content.decode()
    started = onward_url(it.post(reverse("sso_setup_test", args=[connection.pk])))
    back = provider.sign_in(started, "it@acme.ai")
    tested = it.get(path_of(back), follow=True).content.decode()
    assert "Test passed." in tested
    assert it.post(reverse("sso_setup_activate", args=[connection.pk])).status_code == 302
    connection.refresh_from_db()
    assert connection.is_active

    actors = set(
        AuditEntry.objects.unscoped()
        .filter(action__startswith="sso_connection.")
        .values_list("actor_label", flat=True)
    )
    assert actors == {"SSO setup link sent to it@acme.ai"}


def test_a_link_opens_once(owner_client, acme, django_capture_on_commit_callbacks):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    assert open_link(Client(), url).status_code == 302
    again = open_link(Client(), url)
    assert again.status_code == 410
    assert "already opened" in again.content.decode()
    denied = AuditEntry.objects.unscoped().filter(action="sso_setup_link.opened", outcome="denied")
    assert denied.count() == 1


def test_a_link_expires_and_its_session_ends_after_an_hour(
    owner_client, acme, django_capture_on_commit_callbacks
):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert "has expired" in open_link(Client(), url).content.decode()
    other = send_link(owner_client, acme, django_capture_on_commit_callbacks, email="b@acme.ai")
    it = Client()
    open_link(it, other)
    assert it.get(reverse("sso_setup")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        ended = it.get(reverse("sso_setup"))
        assert ended.status_code == 403
        assert "has ended" in ended.content.decode()


def test_a_withdrawn_link_and_a_made_up_one_open_nothing(
    owner_client, acme, django_capture_on_commit_callbacks
):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    link = SsoSetupLink.objects.for_customer(acme).get()
    owner_client.post(reverse("customers:sso_setup_link_revoke", args=[acme.pk, link.pk]))
    assert "was withdrawn" in open_link(Client(), url).content.decode()
    assert Client().post("/sso/setup/made-up-token/").status_code == 410
    assert Client().get(reverse("sso_setup")).status_code == 403


def test_a_link_reaches_its_own_customer_only(
    owner_client, acme, org, owner, django_capture_on_commit_callbacks
):
    from tests.factories import make_customer

    other = make_customer(org, actor=owner, name="Widget")
    theirs = sso_connection_create(
        customer=other, actor=owner, name="Widget IdP", issuer="https://e.example", client_id="c"
    )
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    open_link(it, url)
    assert it.get(reverse("sso_setup_connection", args=[theirs.pk])).status_code == 404
    for name in (
        "sso_setup_test",
        "sso_setup_activate",
        "sso_setup_deactivate",
        "sso_setup_delete",
    ):
        assert it.post(reverse(name, args=[theirs.pk])).status_code == 404
    assert "Widget IdP" not in it.get(reverse("sso_setup")).content.decode()
    # Nor the console or the portal.
    assert it.get(reverse("customers:sso", args=[acme.pk])).status_code == 302  # sign in first
    assert it.get(reverse("portal:sso")).status_code == 302


def test_viewers_and_other_organizations_cannot_send_or_withdraw_links(
    viewer_client, outsider_client, owner_client, acme, django_capture_on_commit_callbacks
):
    send = reverse("customers:sso_setup_link_send", args=[acme.pk])
    assert viewer_client.post(send, {"email": "x@acme.ai"}).status_code == 403
    assert outsider_client.post(send, {"email": "x@acme.ai"}).status_code == 404
    send_link(owner_client, acme, django_capture_on_commit_callbacks)
    link = SsoSetupLink.objects.for_customer(acme).get()
    withdraw = reverse("customers:sso_setup_link_revoke", args=[acme.pk, link.pk])
    assert viewer_client.post(withdraw).status_code == 403
    assert outsider_client.post(withdraw).status_code == 404
    link.refresh_from_db()
    assert link.state == "pending"


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b\n.c", "x" * 300 + "@a.ai"])
def test_a_bad_email_is_refused_with_the_reason(owner_client, acme, email):
    sent = owner_client.post(
        reverse("customers:sso_setup_link_send", args=[acme.pk]), {"email": email}, follow=True
    )
    assert sent.status_code == 200
    assert "is not a valid email address" in sent.content.decode()
    assert not SsoSetupLink.objects.for_customer(acme).exists()


def test_mail_scanners_fetching_the_link_use_up_nothing(
    owner_client, acme, django_capture_on_commit_callbacks
):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    scanner = Client()
    assert scanner.head(path_of(url)).status_code == 200
    assert scanner.get(path_of(url)).status_code == 200
    assert scanner.get(reverse("sso_setup")).status_code == 403  # it opened nothing
    it = Client(enforce_csrf_checks=True)
    page = it.get(path_of(url)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert it.post(path_of(url), {"csrfmiddlewaretoken": token}).status_code == 302
    assert it.get(reverse("sso_setup")).status_code == 200


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("contractor@gmail.com", "verified domains (acme.ai)"),
        ("it@acme.ai.evil.example", "acme.ai"),
    ],
)
def test_links_go_only_to_an_address_at_a_verified_domain(owner_client, acme, email, says):
    sent = owner_client.post(
        reverse("customers:sso_setup_link_send", args=[acme.pk]), {"email": email}, follow=True
    )
    assert says in sent.content.decode()
    assert not SsoSetupLink.objects.for_customer(acme).exists()
    refused = AuditEntry.objects.unscoped().get(action="sso_setup_link.sent")
    assert refused.outcome == "failure"


def test_a_link_holder_switching_sso_on_is_told_to_the_customers_admins(
    provider, owner_client, acme, owner, django_capture_on_commit_callbacks
):
    from tests.factories import make_seat

    make_seat(acme, email="admin@acme.ai", role="superuser")
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    open_link(it, url)
    it.post(reverse("sso_setup"), form(provider))
    connection = SsoConnection.objects.for_customer(acme).get()
    started = onward_url(it.post(reverse("sso_setup_test", args=[connection.pk])))
    it.get(path_of(provider.sign_in(started, "it@acme.ai")))
    mail.outbox.clear()
    it.post(reverse("sso_setup_activate", args=[connection.pk]))
    told = sorted(address for m in mail.outbox for address in m.to)
    assert told == ["admin@acme.ai", owner.email]
    assert "was activated by it@acme.ai" in mail.outbox[0].body


def test_an_opened_link_can_be_withdrawn_during_its_hour_and_a_suspension_ends_it(
    owner_client, acme, owner, django_capture_on_commit_callbacks
):
    from customers.services import customer_suspend

    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    open_link(it, url)
    page = owner_client.get(reverse("customers:sso", args=[acme.pk])).content.decode()
    assert "Withdraw" in page
    other = send_link(owner_client, acme, django_capture_on_commit_callbacks, email="b@acme.ai")
    second = Client()
    open_link(second, other)
    customer_suspend(customer=acme, actor=owner)
    assert second.get(reverse("sso_setup")).status_code == 403


def test_opening_a_link_gives_the_browser_a_new_session(
    owner_client, acme, django_capture_on_commit_callbacks
):
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    session = it.session  # a session that exists before the link is opened
    session["planted"] = True
    session.save()
    planted = session.session_key
    assert it.session.session_key == planted
    open_link(it, url)
    assert it.session.session_key != planted  # a session fixed beforehand gains nothing
    assert it.get(reverse("sso_setup")).status_code == 200
