"""SSO end to end over HTTP, against a real OpenID Connect provider (panva's oidc-provider under
Node, on loopback): a customer admin sets up a connection in the portal, tests it with a real
round trip, activates it; its people then sign in identifier-first, are provisioned on their
first sign-in, and keep signing in when SSO is forced. Replays, a wrong secret and other
customers' and viewers' requests are refused."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import sso_connection_create, sso_connection_deactivate
from customers.models import CustomerUser
from customers.services import customer_update
from tests.factories import PASSWORD, make_seat
from tests.idp import oidc_provider
from tests.portal.test_portal import TestSettings as PortalSettings  # not collected here

SITE_URL = django_settings.SITE_URL


def callback_of(connection) -> str:
    return f"{SITE_URL}/sso/oidc/{connection.pk}/callback/"


ACCOUNTS = {
    "grace@acme.ai": {"given_name": "Grace", "family_name": "Hopper", "groups": ["it-admins"]},
}


@pytest.fixture(scope="module")
def provider():
    with oidc_provider.running(SITE_URL, accounts=ACCOUNTS) as running:
        yield running


@pytest.fixture(autouse=True)
def _loopback_provider(settings):
    settings.SSO_ALLOW_PRIVATE = True


def onward_url(response) -> str:
    """Where the "Continuing to …" page sends the browser (it refreshes there, and links)."""
    assert response.status_code == 200, response.content.decode()[:1500]
    found = re.search(r'href="([^"]+)" id="sso-onward"', response.content.decode())
    assert found, "no onward link"
    return html.unescape(found.group(1))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def connection_of(customer) -> SsoConnection:
    return SsoConnection.objects.for_customer(customer).get()


def form(provider, **overrides):
    return {
        "name": "Acme IdP",
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "email_claim": "email",
        "first_name_claim": "given_name",
        "last_name_claim": "family_name",
        "groups_claim": "groups",
        "group_roles": "it-admins = superuser",
        "default_role": "user",
        "provision_users": "on",
        **overrides,
    }


def verify_domain(customer, domain="acme.ai"):
    VerifiedDomain.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        domain=domain,
        token="t",
        status=VerifiedDomain.Status.VERIFIED,
    )


def run_test(client, provider, connection, email="john@acme.ai"):
    """Press "Test connection" and sign in at the provider: the page it comes back to."""
    started = onward_url(client.post(reverse("portal:sso_test", args=[connection.pk])))
    assert started.startswith(provider.issuer + "/auth?")
    back = provider.sign_in(started, email)
    return client.get(path_of(back), follow=True)


def ready(client, provider, customer) -> SsoConnection:
    """A connection set up, tested and activated through the portal's pages."""
    created = client.post(reverse("portal:sso"), form(provider))
    assert created.status_code == 302, created.content.decode()[:2000]
    connection = SsoConnection.objects.for_customer(customer).get()
    run_test(client, provider, connection)
    assert client.post(reverse("portal:sso_activate", args=[connection.pk])).status_code == 302
    connection.refresh_from_db()
    assert connection.is_active
    return connection


def begin_sign_in(email: str) -> tuple[Client, object]:
    """A new browser types ``email`` and is sent on: the browser, and the start's redirect
    to the provider."""
    browser = Client()
    routed = browser.post(reverse("login"), {"username": email, "step": "identify"})
    return browser, browser.get(onward_url(routed))


def sign_in_through_sso(provider, email: str, next_path: str = "") -> tuple[Client, object]:
    """A new browser: type the email, go to the provider, come back."""
    browser = Client()
    routed = browser.post(
        reverse("login"), {"username": email, "step": "identify", "next": next_path}
    )
    started = browser.get(onward_url(routed))
    assert started.status_code == 302
    assert parse_qs(urlsplit(started["Location"]).query)["login_hint"] == [email]
    back = provider.sign_in(started["Location"], email)
    return browser, browser.get(path_of(back))


def test_an_admin_sets_up_tests_and_activates_a_connection(provider, portal_admin):
    seat, client = portal_admin
    page = client.get(reverse("portal:sso")).content.decode()
    assert "its page then shows the redirect URI" in page
    created = client.post(reverse("portal:sso"), form(provider))
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    assert created["Location"] == reverse("portal:sso_connection", args=[connection.pk])
    detail = client.get(created["Location"]).content.decode()
    assert callback_of(connection) in detail  # the redirect URI to register at the provider
    refused = client.post(reverse("portal:sso_activate", args=[connection.pk]), follow=True)
    assert "Test “Acme IdP” first" in refused.content.decode()
    tested = run_test(client, provider, connection).content.decode()
    assert "Test passed." in tested
    assert "Passed: the provider signed in john@acme.ai." in tested
    assert "&quot;iss&quot;: &quot;" + provider.issuer in tested  # the decoded answer
    assert provider.client_secret not in tested
    client.post(reverse("portal:sso_activate", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.is_active
    assert connection.passed_test
    test_entry = AuditEntry.objects.unscoped().get(action="sso_connection.tested")
    assert test_entry.outcome == "success"
    assert provider.client_secret not in str(list(AuditEntry.objects.unscoped().values()))


def test_a_wrong_client_secret_fails_the_test_at_the_token_step(provider, portal_admin):
    seat, client = portal_admin
    client.post(reverse("portal:sso"), form(provider, client_secret="not-the-secret"))
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    page = run_test(client, provider, connection).content.decode()
    assert "Test failed." in page
    assert "Failed at “token”" in page
    connection.refresh_from_db()
    assert connection.last_test_ok is False
    assert AuditEntry.objects.unscoped().get(action="sso_connection.tested").outcome == "failure"


def test_an_unreachable_issuer_fails_the_test_in_plain_words(portal_admin, settings):
    seat, client = portal_admin
    client.post(reverse("portal:sso"), {**form_without_provider(), "issuer": "http://127.0.0.1:9"})
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    page = client.post(reverse("portal:sso_test", args=[connection.pk]), follow=True)
    assert "Failed at “discovery”: Could not fetch the discovery document" in (
        page.content.decode()
    )


def form_without_provider():
    return {
        "name": "Nowhere",
        "issuer": "https://idp.example.com",
        "client_id": "x",
        "client_secret": "",
        "email_claim": "email",
        "first_name_claim": "given_name",
        "last_name_claim": "family_name",
        "groups_claim": "groups",
        "group_roles": "",
        "default_role": "user",
    }


@pytest.mark.parametrize(
    ("issuer", "says"),
    [
        ("https://127.0.0.1:9", "private, loopback or link-local"),
        ("https://[::ffff:10.0.0.1]:9", "private, loopback or link-local"),
        ("http://idp.example.com", "must be an https:// URL"),
    ],
)
def test_a_private_or_plain_http_issuer_is_refused_unless_allowed(
    portal_admin, settings, issuer, says
):
    settings.SSO_ALLOW_PRIVATE = False
    seat, client = portal_admin
    client.post(reverse("portal:sso"), {**form_without_provider(), "issuer": issuer})
    connection = SsoConnection.objects.for_customer(seat.customer).get()
    page = client.post(reverse("portal:sso_test", args=[connection.pk]), follow=True)
    assert says in page.content.decode()


def test_a_first_sign_in_routes_by_domain_and_provisions_the_person(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, provider, seat.customer)
    browser, landed = sign_in_through_sso(provider, "grace@acme.ai", next_path="/portal/users/")
    assert landed.status_code == 302
    assert landed["Location"] == "/portal/users/"
    assert browser.get("/portal/users/").status_code == 200
    grace = CustomerUser.objects.for_customer(seat.customer).get(user__email="grace@acme.ai")
    assert grace.role == "superuser"  # it-admins → superuser
    assert grace.user.name == "Grace Hopper"
    entry = AuditEntry.objects.unscoped().get(action="sso.signed_in")
    assert entry.actor_label == "grace@acme.ai"
    assert entry.resource_id == str(connection.pk)


def test_a_callback_used_twice_or_in_another_browser_is_refused(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    browser, started = begin_sign_in("ada@acme.ai")
    back = path_of(provider.sign_in(started["Location"], "ada@acme.ai"))
    stranger = Client().get(back)  # login CSRF: the code in someone else's browser
    assert stranger.status_code == 400
    assert "began in another browser" in stranger.content.decode()
    assert browser.get(back).status_code == 302
    browser.logout()
    assert browser.get(back).status_code == 400  # and never twice


def test_a_forged_state_or_code_signs_nobody_in(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    browser, started = begin_sign_in("ada@acme.ai")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    callback = reverse("sso_oidc_callback", args=[connection_of(seat.customer).pk])
    forged = browser.get(callback, {"state": state, "code": "made-up", "iss": provider.issuer})
    assert forged.status_code == 403
    assert "The provider refused the code" in forged.content.decode()
    assert "_auth_user_id" not in browser.session
    assert AuditEntry.objects.unscoped().filter(action="sso.refused").exists()


@pytest.mark.parametrize(
    ("iss", "says"),
    [
        (None, "promises an iss parameter; none came"),
        ("https://evil.example", "names another issuer"),
    ],
)
def test_an_answer_without_or_with_another_issuer_is_refused(provider, portal_admin, iss, says):
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    browser, started = begin_sign_in("ada@acme.ai")
    back = provider.sign_in(started["Location"], "ada@acme.ai")
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "iss"}
    if iss:
        query["iss"] = iss
    refused = browser.get(parts.path, query)
    assert refused.status_code == 403
    assert says in refused.content.decode()
    assert "_auth_user_id" not in browser.session


def test_an_answer_for_another_connection_is_never_exchanged(provider, portal_admin, owner):
    # The IdP mix-up: a flow begun with connection A whose answer arrives at B's redirect URI.
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    other = sso_connection_create(
        customer=seat.customer, actor=owner, name="B", issuer="https://b.example", client_id="b"
    )
    browser, started = begin_sign_in("ada@acme.ai")
    back = urlsplit(provider.sign_in(started["Location"], "ada@acme.ai"))
    elsewhere = reverse("sso_oidc_callback", args=[other.pk])
    mixed = browser.get(f"{elsewhere}?{back.query}")
    assert mixed.status_code == 400
    assert "came back for a different connection" in mixed.content.decode()
    assert "_auth_user_id" not in browser.session


def test_an_email_without_sso_gets_the_password_form(portal_admin):
    page = Client().post(reverse("login"), {"username": "someone@else.example", "step": "identify"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="password"' in html
    assert 'value="someone@else.example"' in html


def test_forced_sso_refuses_passwords_but_not_sso_sessions(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    make_seat(seat.customer, email="pat@acme.ai")
    customer_update(
        customer=seat.customer, actor=None, expected_version=None, changes={"force_sso": True}
    )
    refused = Client().post(reverse("login"), {"username": "pat@acme.ai", "password": PASSWORD})
    assert "requires single sign-on" in refused.content.decode()
    browser, landed = sign_in_through_sso(provider, "pat@acme.ai")
    assert landed["Location"] == reverse("portal:home")
    assert browser.get(reverse("portal:home")).status_code == 200


def test_the_portal_refuses_force_sso_without_a_usable_connection(portal_admin):
    seat, client = portal_admin
    data = PortalSettings().data(seat.customer, force_sso="on")
    response = client.post(reverse("portal:settings"), data)
    assert response.status_code == 422
    assert "no active, tested SSO connection" in response.content.decode()
    seat.customer.refresh_from_db()
    assert not seat.customer.force_sso


def test_other_customers_get_404_and_non_admins_403(portal_admin, other_customer_admin, owner):
    seat, _ = portal_admin
    connection = sso_connection_create(
        customer=seat.customer, actor=owner, name="Okta", issuer="https://i.example", client_id="c"
    )
    _, other = other_customer_admin
    for name in ("sso_connection",):
        assert other.get(reverse(f"portal:{name}", args=[connection.pk])).status_code == 404
    for name in ("sso_test", "sso_activate", "sso_deactivate", "sso_delete"):
        assert other.post(reverse(f"portal:{name}", args=[connection.pk])).status_code == 404
    member = make_seat(seat.customer, email="member@acme.ai", role="engineer")
    browser = Client()
    browser.force_login(member.user)
    assert browser.get(reverse("portal:sso")).status_code == 403
    assert browser.post(reverse("portal:sso_delete", args=[connection.pk])).status_code == 403
    assert SsoConnection.objects.for_customer(seat.customer).exists()


def test_the_console_sets_up_a_connection_for_a_customer(owner_client, viewer_client, acme):
    url = reverse("customers:sso", args=[acme.pk])
    created = owner_client.post(url, form_without_provider())
    assert created.status_code == 302
    connection = SsoConnection.objects.for_customer(acme).get()
    page = owner_client.get(created["Location"]).content.decode()
    assert "Nowhere" in page
    assert "Test connection" in page
    assert viewer_client.get(url).status_code == 200
    assert viewer_client.post(url, form_without_provider()).status_code == 403
    detail = reverse("customers:sso_connection", args=[acme.pk, connection.pk])
    assert "Test connection" not in viewer_client.get(detail).content.decode()
    for name in ("sso_test", "sso_activate", "sso_deactivate", "sso_delete"):
        target = reverse(f"customers:{name}", args=[acme.pk, connection.pk])
        assert viewer_client.post(target).status_code == 403


def test_another_organization_gets_404_on_the_console_pages(outsider_client, acme, owner):
    connection = sso_connection_create(
        customer=acme, actor=owner, name="Okta", issuer="https://i.example", client_id="c"
    )
    assert outsider_client.get(reverse("customers:sso", args=[acme.pk])).status_code == 404
    detail = reverse("customers:sso_connection", args=[acme.pk, connection.pk])
    assert outsider_client.get(detail).status_code == 404
    for name in ("sso_test", "sso_activate", "sso_deactivate", "sso_delete"):
        target = reverse(f"customers:{name}", args=[acme.pk, connection.pk])
        assert outsider_client.post(target).status_code == 404


@pytest.mark.parametrize(
    "field",
    ["name", "issuer", "client_id", "group_roles", "email_claim"],
)
@pytest.mark.parametrize("typed", ["\x00", "é" * 600, "a\nb", "<script>", "= superuser"])
def test_nasty_input_gets_a_message_not_an_error(portal_admin, field, typed):
    _, client = portal_admin
    response = client.post(reverse("portal:sso"), {**form_without_provider(), field: typed})
    assert response.status_code in (302, 422)


# --- break-glass ------------------------------------------------------------------------------


def force_sso_with_a_connection(customer):
    from tests.portal.test_security import set_customer

    set_customer(customer, force_sso=True)


def test_a_break_glass_admin_signs_in_with_a_password_and_the_others_are_told(
    portal_admin, django_capture_on_commit_callbacks
):
    seat, client = portal_admin
    ops = make_seat(seat.customer, email="ops@acme.ai", role="superuser")
    made = client.post(reverse("portal:user_break_glass", args=[seat.pk]), {"on": "1"})
    assert made.status_code == 302
    seat.refresh_from_db()
    assert seat.break_glass
    force_sso_with_a_connection(seat.customer)
    mail.outbox.clear()

    browser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        signed_in = browser.post(
            reverse("login"), {"username": "john@acme.ai", "password": PASSWORD}
        )
    assert signed_in.status_code == 302
    told = [m for m in mail.outbox if m.to == [ops.user.email]]
    assert len(told) == 1
    assert "Break-glass sign-in to John-Acme by john@acme.ai" in told[0].subject
    assert not [m for m in mail.outbox if m.to == ["john@acme.ai"]]
    entry = AuditEntry.objects.unscoped().get(action="sso.break_glass_sign_in")
    assert entry.actor_label == "john@acme.ai"
    # Past forced SSO with a password, a second factor is always asked for.
    assert browser.get(reverse("portal:home"))["Location"] == reverse("portal:two_factor_setup")
    # Other people still cannot use a password.
    refused = Client().post(reverse("login"), {"username": ops.user.email, "password": PASSWORD})
    assert "requires single sign-on" in refused.content.decode()


def test_only_admins_can_be_break_glass_and_losing_the_role_ends_it(portal_admin):
    seat, client = portal_admin
    member = make_seat(seat.customer, email="m@acme.ai", role="engineer")
    refused = client.post(
        reverse("portal:user_break_glass", args=[member.pk]), {"on": "1"}, follow=True
    )
    assert "Only an admin can be a break-glass account." in refused.content.decode()
    member.refresh_from_db()
    assert not member.break_glass
    other_admin = make_seat(seat.customer, email="a@acme.ai", role="superuser")
    client.post(reverse("portal:user_break_glass", args=[other_admin.pk]), {"on": "1"})
    client.post(reverse("portal:user_role", args=[other_admin.pk]), {"role": "billing"})
    other_admin.refresh_from_db()
    assert not other_admin.break_glass
    changed = AuditEntry.objects.unscoped().filter(action="customer_user.role_changed").last()
    assert changed.changes["break_glass"] == [True, False]


# --- what an SSO session reaches --------------------------------------------------------------


def test_an_sso_session_reaches_its_own_customers_seat_only(provider, portal_admin, owner, org):
    from tests.factories import make_customer

    seat, client = portal_admin
    verify_domain(seat.customer)
    ready(client, provider, seat.customer)
    earlier = make_customer(org, actor=owner, name="Earlier Co", admin_email="x@earlier.test")
    make_seat(earlier, email="grace@acme.ai", role="superuser")  # her first seat
    browser, _ = sign_in_through_sso(provider, "grace@acme.ai")
    home = browser.get(reverse("portal:home")).content.decode()
    assert "John-Acme" in home
    assert "Earlier Co" not in home
    assert browser.get("/settings/customers/").status_code in (302, 403)


def test_a_deactivated_connection_no_longer_vouches_for_its_sessions(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, provider, seat.customer)
    customer_update(
        customer=seat.customer, actor=None, expected_version=None, changes={"force_2fa": True}
    )
    browser, _ = sign_in_through_sso(provider, "grace@acme.ai")
    assert browser.get(reverse("portal:home")).status_code == 200  # the provider's factor
    sso_connection_deactivate(connection=connection, actor=None)
    asked = browser.get(reverse("portal:home"))
    assert asked.status_code == 302
    assert asked["Location"] == reverse("portal:two_factor_setup")


@pytest.mark.parametrize("typed", ["a\x00b@acme.ai", "x" * 300 + "@acme.ai", "@", "é@é"])
def test_odd_emails_at_the_identify_step_get_the_password_form(db, typed):
    page = Client().post(reverse("login"), {"username": typed, "step": "identify"})
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()


def test_the_providers_own_error_text_is_never_shown_or_recorded(provider, portal_admin):
    seat, client = portal_admin
    verify_domain(seat.customer)
    connection = ready(client, provider, seat.customer)
    browser, started = begin_sign_in("ada@acme.ai")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    lure = "Call +1 555 0100 to restore your account"
    answer = browser.get(
        reverse("sso_oidc_callback", args=[connection.pk]),
        {"state": state, "error": "access_denied", "error_description": lure},
    )
    assert answer.status_code == 403
    assert "refused or cancelled" in answer.content.decode()
    assert lure not in answer.content.decode()
    assert lure not in str(list(AuditEntry.objects.unscoped().values_list("message", flat=True)))


def test_a_provider_that_puts_the_claims_in_the_id_token_works_too(portal_admin):
    # Okta and Google: email and names in the ID token itself, no userinfo call needed.
    seat, client = portal_admin
    with oidc_provider.running(SITE_URL, accounts=ACCOUNTS, claims_in_id_token=True) as okta:
        verify_domain(seat.customer)
        ready(client, okta, seat.customer)
        _, landed = sign_in_through_sso(okta, "grace@acme.ai")
        assert landed["Location"] == reverse("portal:home")
    grace = CustomerUser.objects.for_customer(seat.customer).get(user__email="grace@acme.ai")
    assert grace.user.name == "Grace Hopper"


def test_the_sso_pages_ask_the_same_queries_however_many_connections(
    portal_admin, owner_client, owner
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    seat, client = portal_admin
    customer = seat.customer
    pages = [
        (client, reverse("portal:sso")),
        (owner_client, reverse("customers:sso", args=[customer.pk])),
    ]

    def queries(browser, url):
        with CaptureQueriesContext(db) as captured:
            assert browser.get(url).status_code == 200
        return len(captured)

    sso_connection_create(
        customer=customer, actor=owner, name="One", issuer="https://1.example", client_id="c"
    )
    before = [queries(b, u) for b, u in pages]
    for n in range(2, 5):
        sso_connection_create(
            customer=customer, actor=owner, name=f"N{n}", issuer="https://n.example", client_id="c"
        )
    assert [queries(b, u) for b, u in pages] == before
