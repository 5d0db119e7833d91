"""SAML 2.0 SSO over HTTP against a real IdP (pysaml2's saml2.server.Server, in process): a
customer admin sets up a SAML connection in the portal, Tenantry shows its SP metadata, a
test round trip passes, and people then sign in identifier-first and are provisioned. The
IdP's POST back, which carries no session cookie across sites, is posted again from
Tenantry's own page."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from customers.identity.sso import saml, saml_services
from customers.identity.sso.models import SsoConnection
from customers.models import CustomerUser
from tests.factories import make_seat
from tests.idp import saml_idp
from tests.portal.test_portal_sso import onward_url, verify_domain
from tests.portal.test_sso_setup_links import open_link, send_link

SITE_URL = django_settings.SITE_URL


@pytest.fixture(autouse=True)
def _xmlsec():
    saml_idp.require()


@pytest.fixture
def idp():
    return saml_idp.Idp()


def saml_form(idp, **overrides):
    return {
        "protocol": "saml",
        "name": "Acme SAML",
        "idp_entity_id": idp.entity_id,
        "idp_sso_url": idp.sso_url,
        "idp_certificate": idp.certificate,
        "email_claim": "email",
        "first_name_claim": "givenName",
        "last_name_claim": "sn",
        "groups_claim": "groups",
        "group_roles": "it-admins = superuser",
        "default_role": "user",
        "provision_users": "on",
        **overrides,
    }


def post_back(browser: Client, acs: str, response: str, **extra):
    """The IdP's auto-posting form, as the browser sends it (the test client has cookies)."""
    return browser.post(acs.removeprefix(SITE_URL), {"SAMLResponse": response, **extra})


def trusted(client, idp, connection) -> None:
    """The IdP reads Tenantry's SP metadata for the connection, as an IT admin sets it up."""
    metadata = client.get(reverse("sso_saml_metadata", args=[connection.pk]))
    assert metadata.status_code == 200
    assert metadata["Content-Type"] == "application/samlmetadata+xml"
    idp.trust(metadata.content)


def run_test(client, idp, connection, email="john@acme.ai", **kwargs):
    started = onward_url(client.post(reverse("portal:sso_test", args=[connection.pk])))
    assert started.startswith(idp.sso_url + "?SAMLRequest=")
    acs, response = saml_idp.answer(idp, started, email, **kwargs)
    return post_back(client, acs, response)


def ready(client, idp, customer, **form) -> SsoConnection:
    settings = saml_form(idp, **form)
    created = client.post(reverse("portal:sso"), settings)
    assert created.status_code == 302, created.content.decode()[:3000]
    connection = SsoConnection.objects.for_customer(customer).get(name=settings["name"])
    trusted(client, idp, connection)
    assert run_test(client, idp, connection).status_code == 302
    assert client.post(reverse("portal:sso_activate", args=[connection.pk])).status_code == 302
    connection.refresh_from_db()
    assert connection.is_active, connection.last_test_result
    return connection


def begin_sign_in(email: str) -> tuple[Client, str]:
    browser = Client()
    routed = browser.post(reverse("login"), {"username": email, "step": "identify"})
    started = browser.get(onward_url(routed))
    assert started.status_code == 302
    return browser, started["Location"]


def test_an_admin_sets_up_tests_and_activates_a_saml_connection(idp, portal_admin):
    seat, client = portal_admin
    created = client.post(reverse("portal:sso"), saml_form(idp))
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    assert connection.protocol == "saml"
    assert connection.status == "draft"
    assert connection.certificate_expires_at is not None
    detail = client.get(created["Location"]).content.decode()
    acs = f"{SITE_URL}/sso/saml/{connection.pk}/acs/"
    entity = f"{SITE_URL}/sso/saml/{connection.pk}/metadata/"
    assert acs in detail
    assert entity in detail
    assert "Expires on" in detail
    metadata = client.get(reverse("sso_saml_metadata", args=[connection.pk])).content.decode()
    assert f'entityID="{entity}"' in metadata
    assert f'Location="{acs}"' in metadata
    assert 'WantAssertionsSigned="true"' in metadata
    idp.trust(metadata)
    tested = client.get(run_test(client, idp, connection)["Location"]).content.decode()
    assert "Passed: the provider signed in john@acme.ai." in tested, tested
    assert "&quot;assertion_id&quot;" in tested  # the decoded response
    connection.refresh_from_db()
    assert connection.passed_test
    client.post(reverse("portal:sso_activate", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.is_active
    assert AuditEntry.objects.unscoped().get(action="sso_connection.tested").outcome == "success"


def test_the_idps_metadata_url_fills_in_its_settings(idp, portal_admin, monkeypatch):
    seat, client = portal_admin
    fetched = []

    def fetch(url):
        fetched.append(url)
        from customers.identity.sso.saml_metadata import read_metadata

        return read_metadata(idp.metadata())

    monkeypatch.setattr("customers.identity.sso.saml_services.saml_metadata.fetch_metadata", fetch)
    form = saml_form(idp, idp_metadata_url="https://idp.example.test/metadata")
    for field in ("idp_entity_id", "idp_sso_url", "idp_certificate"):
        form[field] = ""
    assert client.post(reverse("portal:sso"), form).status_code == 302
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    assert fetched == ["https://idp.example.test/metadata"]
    assert connection.idp_entity_id == idp.entity_id
    assert connection.idp_sso_url == idp.sso_url
    assert connection.idp_metadata_fetched_at is not None


def test_pasted_metadata_fills_in_its_settings_and_bad_input_keeps_the_form(idp, portal_admin):
    seat, client = portal_admin
    bad = client.post(
        reverse("portal:sso"),
        saml_form(idp, idp_entity_id="", idp_metadata_xml="<not-metadata", idp_certificate=""),
    )
    assert bad.status_code == 422
    assert "not well-formed XML" in bad.content.decode()
    assert "Acme SAML" in bad.content.decode()  # nothing typed is lost
    # A name alone saves a draft (an IdP's wizard wants Tenantry's URLs first); its test asks
    # for what is missing.
    drafted = client.post(reverse("portal:sso"), saml_form(idp, name="Later", idp_certificate=""))
    assert drafted.status_code == 302
    draft = SsoConnection.objects.for_customer(seat.customer).get(name="Later")
    asked = client.post(reverse("portal:sso_test", args=[draft.pk]), follow=True)
    assert "Add the IdP&#x27;s signing certificate first" in asked.content.decode()
    garbage = client.post(reverse("portal:sso"), saml_form(idp, idp_certificate="hello"))
    assert "not an X.509 certificate" in garbage.content.decode()
    form = saml_form(idp, idp_metadata_xml=idp.metadata(), idp_entity_id="", idp_sso_url="")
    assert client.post(reverse("portal:sso"), form).status_code == 302
    made = SsoConnection.objects.for_customer(seat.customer).get(name="Acme SAML")
    assert made.idp_entity_id == idp.entity_id


def test_a_first_saml_sign_in_routes_by_domain_and_provisions_the_person(idp, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, idp, seat.customer)
    browser, redirect = begin_sign_in("grace@acme.ai")
    assert redirect.startswith(idp.sso_url)
    assert "login_hint=grace%40acme.ai" in redirect
    attributes = {
        "email": ["grace@acme.ai"],
        "givenName": ["Grace"],
        "sn": ["Hopper"],
        "groups": ["it-admins", "staff"],
    }
    acs, response = saml_idp.answer(idp, redirect, "grace@acme.ai", attributes=attributes)
    landed = post_back(browser, acs, response)
    assert landed.status_code == 302
    assert landed["Location"] == reverse("portal:home")
    grace = CustomerUser.objects.for_customer(seat.customer).get(user__email="grace@acme.ai")
    assert grace.role == CustomerUser.Role.SUPERUSER
    assert grace.user.name == "Grace Hopper"
    assert browser.get(reverse("portal:home")).status_code == 200
    signed_in = AuditEntry.objects.unscoped().filter(action="sso.signed_in").get()
    assert signed_in.resource_id == str(connection.pk)


def test_the_idps_cross_site_post_is_posted_again_from_tenantrys_page(idp, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, idp, seat.customer)
    browser, redirect = begin_sign_in("grace@acme.ai")
    acs, response = saml_idp.answer(idp, redirect, "grace@acme.ai")
    session = browser.cookies.pop(django_settings.SESSION_COOKIE_NAME)  # SameSite=Lax: not sent
    page = post_back(browser, acs, response)
    assert page.status_code == 200
    body = page.content.decode()
    assert "data-autosubmit" in body
    assert 'name="resubmitted"' in body
    reposted = re.search(r'name="SAMLResponse" value="([^"]+)"', body).group(1)
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = session  # same-site now: sent
    landed = post_back(browser, acs, html.unescape(reposted), resubmitted="1")
    assert landed.status_code == 302
    assert landed["Location"] == reverse("portal:home")


def test_the_same_response_twice_and_an_unasked_one_are_refused(idp, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, idp, seat.customer)
    acs = saml.acs_url(connection)
    unasked = idp.response(
        acs=acs, sp=saml.entity_id(connection), email="grace@acme.ai", in_response_to=None
    )
    refused = post_back(Client(), acs, unasked, resubmitted="1")
    assert refused.status_code == 403
    assert "did not ask for" in refused.content.decode()
    connection.allow_idp_initiated = True
    connection.save()
    dashboard = Client(enforce_csrf_checks=True)  # someone who starts at the IdP's dashboard
    asked = post_back(dashboard, acs, unasked, resubmitted="1")
    assert asked.status_code == 200
    assert "Continue as grace@acme.ai" in asked.content.decode()
    assert "_auth_user_id" not in dashboard.session  # nobody is signed in yet
    assert dashboard.post(reverse("sso_saml_continue")).status_code == 403  # no CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', asked.content.decode())
    went = dashboard.post(reverse("sso_saml_continue"), {"csrfmiddlewaretoken": token.group(1)})
    assert went["Location"] == reverse("portal:home")
    assert "sso_saml_unasked" not in dashboard.session  # used once
    assert Client().post(reverse("sso_saml_continue")).status_code == 400  # nothing held
    replayed = post_back(Client(), acs, unasked, resubmitted="1")
    assert replayed.status_code == 403
    assert "already used" in replayed.content.decode()
    # Anyone can post an unasked response: only the replay, whose signatures held, is recorded.
    reasons = AuditEntry.objects.unscoped().filter(action="sso.refused")
    assert [r.message for r in reasons] == [saml_services.REPLAY]
    # The response a browser's request got cannot be posted again, there or elsewhere.
    browser, redirect = begin_sign_in("grace@acme.ai")
    acs, response = saml_idp.answer(idp, redirect, "grace@acme.ai")
    assert post_back(browser, acs, response).status_code == 302
    assert post_back(browser, acs, response).status_code == 400
    assert post_back(Client(), acs, response, resubmitted="1").status_code == 400


def test_an_answer_posted_to_another_connections_acs_is_refused(idp, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    first = ready(client, idp, seat.customer)
    second = ready(client, idp, seat.customer, name="Second")
    browser = Client()
    redirect = onward_url(browser.post(reverse("sso_start", args=[first.pk])))
    acs, response = saml_idp.answer(idp, redirect, "grace@acme.ai")
    assert acs == saml.acs_url(first)
    refused = post_back(browser, saml.acs_url(second), response)
    assert refused.status_code == 400
    assert "different connection" in refused.content.decode()


def test_the_metadata_and_acs_of_no_saml_connection_are_404(portal_admin, idp):
    seat, client = portal_admin
    created = client.post(
        reverse("portal:sso"),
        {
            **saml_form(idp),
            "protocol": "oidc",
            "issuer": "https://idp.example.com",
            "client_id": "x",
        },
    )
    assert created.status_code == 302
    oidc = SsoConnection.objects.for_customer(seat.customer).get()
    assert client.get(reverse("sso_saml_metadata", args=[oidc.pk])).status_code == 404
    posted = Client().post(
        reverse("sso_saml_acs", args=[oidc.pk]), {"SAMLResponse": "eA==", "resubmitted": "1"}
    )
    assert posted.status_code in (400, 404)
    assert Client().get(reverse("sso_saml_acs", args=[oidc.pk])).status_code == 405


def test_an_it_contact_sets_up_a_saml_connection_through_a_setup_link(
    idp, owner_client, acme, django_capture_on_commit_callbacks
):
    verify_domain(acme)
    url = send_link(owner_client, acme, django_capture_on_commit_callbacks)
    it = Client()
    assert open_link(it, url)["Location"] == reverse("sso_setup")
    created = it.post(reverse("sso_setup"), saml_form(idp))
    assert created.status_code == 302, created.content.decode()[:1500]
    connection = SsoConnection.objects.for_customer(acme).get()
    assert saml.acs_url(connection) in it.get(created["Location"]).content.decode()
    trusted(it, idp, connection)
    started = onward_url(it.post(reverse("sso_setup_test", args=[connection.pk])))
    acs, response = saml_idp.answer(idp, started, "it@acme.ai")
    back = post_back(it, acs, response)
    assert "Test passed." in it.get(back["Location"]).content.decode()
    assert it.post(reverse("sso_setup_activate", args=[connection.pk])).status_code == 302
    connection.refresh_from_db()
    assert connection.is_active
    actors = set(
        AuditEntry.objects.unscoped()
        .filter(action__startswith="sso_connection.")
        .values_list("actor_label", flat=True)
    )
    assert actors == {"SSO setup link sent to it@acme.ai"}


def test_other_customers_get_404_on_a_saml_connection_and_non_admins_403(
    idp, portal_admin, other_customer_admin
):
    seat, client = portal_admin
    connection = ready(client, idp, seat.customer)
    _other, outsider = other_customer_admin
    for name in ("portal:sso_connection", "portal:sso_test", "portal:sso_deactivate"):
        method = outsider.get if name == "portal:sso_connection" else outsider.post
        assert method(reverse(name, args=[connection.pk])).status_code == 404
    member = make_seat(seat.customer, email="eng@acme.ai", role="engineer")
    engineer = Client()
    engineer.force_login(member.user)
    assert engineer.post(reverse("portal:sso_deactivate", args=[connection.pk])).status_code == 403
    connection.refresh_from_db()
    assert connection.is_active


def test_a_start_from_another_site_asks_first_so_it_cannot_sign_anyone_in(idp, portal_admin):
    """Login CSRF: a link (or image) on another site opening /sso/<id>/start/ begins nothing;
    the page asks, and only its CSRF-checked POST goes on to the IdP."""
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, idp, seat.customer)
    start = reverse("sso_start", args=[connection.pk])
    victim = Client(enforce_csrf_checks=True)
    for url in (start, f"{start}?go=guessed"):
        asked = victim.get(url)
        assert asked.status_code == 200
        assert "Continue to Acme SAML" in asked.content.decode()
        assert "sso_flows" not in victim.session
    assert victim.post(start).status_code == 403  # no CSRF token: refused
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', asked.content.decode())
    went = victim.post(start, {"csrfmiddlewaretoken": token.group(1)})
    assert onward_url(went).startswith(idp.sso_url + "?SAMLRequest=")
    # The sign-in page's own link goes straight on, once.
    browser = Client()
    routed = browser.post(reverse("login"), {"username": "grace@acme.ai", "step": "identify"})
    link = onward_url(routed)
    assert browser.get(link).status_code == 302
    assert browser.get(link).status_code == 200  # used: it asks again
