"""Every page, as each person who uses it, at desktop (1440) and phone (390) widths: axe-core
finds no violation of any impact, and nothing is wider than the viewport.

The pages hold the demo data (``seed_demo``), so tables, badges, charts and pagination are
what a real user sees. axe comes from the pip package axe-playwright-python (no CDN).
Set SCREENSHOTS=<dir> to also save a full-page screenshot of each page at each width."""

from __future__ import annotations

import importlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.apps import apps as django_apps
from django.core import mail
from django.core.management import call_command

from audit.devtools.seed import (
    DEMO_PASSWORD,
    OWNER_EMAIL,
    SUPPORT_EMAIL,
    VIEWER_EMAIL,
)
from audit.models import AuditEntry, Execution
from audit.streams.delivery import deliver_now as streams_deliver_now
from audit.streams.services import audit_settings_set, stream_create
from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import (
    sso_connection_activate,
    sso_connection_create,
    sso_connection_test_recorded,
)
from customers.identity.sso.setup_links import setup_link_create, setup_url
from customers.models import Customer, CustomerStatus, CustomerUser, Organization, User
from customers.services import customer_update, endpoint_create, invite_send
from customers.webhooks.delivery import deliver_now
from tests.e2e.conftest import sign_in
from tests.figures import count
from tests.idp.saml_idp import key_pair

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
AXE = Axe()


@dataclass
class Finding:
    who: str
    width: str
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.who} {self.width} {self.path}: {self.what}"


def demo_pages() -> dict[str, list[str]]:
    """The pages of each person, built from the demo data as seeded."""
    active = Customer.objects.unscoped().filter(status=CustomerStatus.ACTIVE).order_by("name")
    rich = next(c for c in active if c.connections.exists())
    suspended = Customer.objects.unscoped().filter(status=CustomerStatus.SUSPENDED).first()
    pending = (
        Customer.objects.unscoped().filter(status=CustomerStatus.PENDING_ADMIN_ACTIVATION).first()
    )
    deleted = Customer.objects.unscoped().filter(status=CustomerStatus.DELETED).first()
    execution = Execution.objects.unscoped().filter(customer=rich).first()
    execution = execution or Execution.objects.unscoped().first()
    console = [
        "/",
        "/settings/customers/",
        "/settings/customers/?status=suspended&sort=-created_at",
        f"/settings/customers/{rich.pk}/",
        f"/settings/customers/{pending.pk}/",
        f"/settings/customers/{suspended.pk}/",
        f"/settings/customers/{deleted.pk}/",
        f"/settings/customers/{rich.pk}/domains/",
        "/settings/billing/",
        "/settings/billing/customer-limits/",
        "/settings/billing/customer-limits/?sort=forecast",
        "/settings/billing/alerts/",
        f"/settings/billing/alerts/?customer={rich.pk}",
        "/settings/customers/?attention=on&sort=health",
        "/activity/executions/",
        f"/activity/executions/{execution.pk}/",
        "/activity/events/",
        f"/activity/customers/?customer_q={rich.name[:4]}",
        "/settings/audit-log/",
        "/settings/api-keys/",
        "/accounts/password/",
        "/api/v1/docs",
        "/settings/customers/not-a-page/",
        # Empty results and refused filters look different: check them too.
        "/settings/customers/?q=no-such-customer-anywhere",
        "/settings/audit-log/?date_after=2001-01-01&date_before=2001-01-02",
        "/activity/executions/?started_after=not-a-date",
    ]
    # States only a click reaches: a confirmation dialog, the limit editor, the execution
    # drawer, the account menu (and, on a phone, the navigation menu).
    states = [
        f"/settings/customers/{rich.pk}/ then [data-dialog-open=dialog-suspend]",
        f"/settings/customers/{rich.pk}/ then [data-dialog-open=dialog-delete]",
        "/settings/billing/customer-limits/ then .limit-control",
        "/activity/executions/ then #results tbody a[hx-get]",
        "/settings/customers/ then .user-menu summary",
        "/settings/customers/ then .filters-panel summary",
        "/settings/customers/ then .menu-button",
    ]
    owner_only = [
        *states,
        "/settings/customers/new",
        f"/settings/customers/{rich.pk}/edit",
        f"/settings/billing/customer-limits/{rich.pk}/events_per_day/",
    ]
    portal = [
        "/portal/",
        "/portal/settings/",
        "/portal/users/",
        "/portal/connections/",
        "/portal/usage/",
        "/portal/api-tokens/",
        "/portal/domains/",
        "/portal/domains/ then [data-dialog-open^=remove-]",
        "/portal/two-factor/setup/",
    ]
    return {"owner": console + owner_only, "viewer": console, "customer admin": portal}


def customer_admin_email() -> str:
    seat = (
        CustomerUser.objects.unscoped()
        .filter(role="superuser", customer__status=CustomerStatus.ACTIVE)
        .exclude(customer__connections=None)
        .select_related("user")
        .first()
    )
    return seat.user.email


def invite_link() -> str:
    customer = Customer.objects.unscoped().filter(status=CustomerStatus.ACTIVE).first()
    invite_send(customer=customer, email="newcomer@axe.test", role="user", actor=None)
    message = next(m for m in mail.outbox if m.to == ["newcomer@axe.test"])
    return re.search(r"/invite/\S+/", message.body).group(0)


def audit(page, who: str, width: str, path: str, shots: Path | None) -> list[Finding]:
    """One page, or one state of it: "<path> then <selector>" clicks that control first (a
    dialog, an editor, a drawer, a menu) and checks what the swap or the click shows."""
    url, _, then = path.partition(" then ")
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if then and page.locator(then).first.is_visible():  # a Menu button is for phones only
        page.locator(then).first.click()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(100)  # the swap settles (htmx:afterSettle moves focus)
    found = []
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    for violation in results.response["violations"]:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
        found.append(
            Finding(who, width, path, f"{violation['id']} ({violation['impact']}) at {targets}")
        )
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        found.append(Finding(who, width, path, f"scrolls sideways by {overflow}px"))
    if shots is not None:
        name = re.sub(r"[^a-z0-9]+", "-", f"{who} {path} {width}".lower()).strip("-")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    return found


def support_pages() -> list[str]:
    """Support's admin: the index, each list it works in, and a customer's page with its
    users, invitations and connections inline."""
    customer = Customer.objects.unscoped().filter(status=CustomerStatus.ACTIVE).first()
    return [
        "/admin/",
        "/admin/customers/customer/",
        "/admin/customers/customer/?q=a",
        f"/admin/customers/customer/{customer.pk}/change/",
        f"/admin/customers/customer/{customer.pk}/lifecycle/suspend/",
        "/admin/customers/organization/",
        "/admin/audit/auditentry/",
    ]


def support_group() -> None:
    """An earlier browser test's flush emptied every table, migrations' rows too: seed_demo
    needs the "Support" group, so it is made again the way its migration makes it."""
    migration = importlib.import_module("customers.migrations.0003_support_group")
    migration.create_group(django_apps, None)


def webhook_pages(settings) -> list[str]:
    """An endpoint whose receiver is down, so its log shows failed attempts and retries."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    organization = Organization.objects.get(slug="acme")
    owner = User.objects.get(email=OWNER_EMAIL)
    endpoint, _ = endpoint_create(
        organization=organization,
        url="http://127.0.0.1:9/down",
        description="CRM sync",
        actor=owner,
    )
    customer = Customer.objects.for_organization(organization).filter(status="active").first()
    customer_update(
        customer=customer, actor=owner, expected_version=None, changes={"billing_ref": "PO-9"}
    )
    deliver_now()
    return ["/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/"]


def audit_trail_pages(settings) -> tuple[list[str], list[str]]:
    """Audit Log settings with two streams (one failing, with lag), read auditing on (so a
    customer's page lists who viewed it); and the customer admin's own audit log."""
    settings.AUDIT_STREAM_ALLOW_PRIVATE = True
    organization = Organization.objects.get(slug="acme")
    owner = User.objects.get(email=OWNER_EMAIL)
    audit_settings_set(organization=organization, actor=owner, retention_days=400, audit_reads=True)
    stream_create(
        organization=organization,
        actor=owner,
        kind="https",
        name="SIEM (down)",
        url="http://127.0.0.1:9/siem",
    )
    stream_create(
        organization=organization, actor=owner, kind="file", name="Archive", file_name="a.jsonl"
    )
    streams_deliver_now()
    seat = (
        CustomerUser.objects.unscoped()
        .select_related("customer")
        .get(user__email=customer_admin_email())
    )
    entry = AuditEntry.objects.for_customer(seat.customer).first()
    portal = ["/portal/audit-log/", f"/portal/audit-log/{entry.pk}/"]
    return ["/settings/audit-log/settings/"], portal


def sso_pages() -> tuple[list[str], list[str]]:
    """An SSO connection of the customer admin's customer whose last test failed (so its page
    shows why), on the portal's pages and the console's."""
    customer = (
        CustomerUser.objects.unscoped()
        .select_related("customer")
        .get(user__email=customer_admin_email())
        .customer
    )
    connection = sso_connection_create(
        customer=customer,
        actor=None,
        name="Okta",
        issuer="https://acme.okta.example",
        client_id="0oa1tenantry",
        client_secret="not-a-real-secret",
        group_roles={"it-admins": "superuser"},
    )
    sso_connection_test_recorded(
        connection=connection,
        actor=None,
        passed=False,
        result="Failed at “audience”: The ID token is meant for another client (audience).",
    )
    # A SAML connection whose certificate expires in ten days (its warning shows).
    saml = sso_connection_create(
        customer=customer,
        actor=None,
        name="Entra SAML",
        protocol="saml",
        idp_entity_id="https://sts.windows.example/tenant/",
        idp_sso_url="https://login.windows.example/tenant/saml2",
        idp_certificate=key_pair(days=10)[1],
    )
    sso_connection_test_recorded(connection=saml, actor=None, passed=True, result="Passed.")
    sso_connection_activate(connection=saml, actor=None)
    portal = [
        "/portal/sso/",
        f"/portal/sso/{connection.pk}/",
        f"/portal/sso/{connection.pk}/ then [data-dialog-open=sso-delete]",
        f"/portal/sso/{saml.pk}/",
    ]
    base = f"/settings/customers/{customer.pk}/sso/"
    return [base, f"{base}{connection.pk}/", f"{base}{saml.pk}/"], portal


def sso_setup_pages() -> tuple[list[str], list[str]]:
    """Three setup links (to addresses at a verified domain) for the customer that has an SSO
    connection (sso_pages), and the pages one opens."""
    connection = SsoConnection.objects.unscoped().select_related("customer").get(name="Okta")
    customer = connection.customer
    owner = User.objects.get(email=OWNER_EMAIL)
    VerifiedDomain.objects.create(
        organization=customer.organization,
        customer=customer,
        domain="it-axe.test",
        token="t",
        status=VerifiedDomain.Status.VERIFIED,
    )
    links = []
    for email in ("one@it-axe.test", "two@it-axe.test", "three@it-axe.test"):
        _, token = setup_link_create(customer=customer, email=email, actor=owner)
        links.append(urlsplit(setup_url(token)).path)
    return links, ["/sso/setup/", f"/sso/setup/{connection.pk}/"]


def test_every_page_has_no_axe_violation_and_no_sideways_scroll(browser, live_server, settings):
    mail.outbox = []
    support_group()
    call_command("seed_demo", executions=200, events=300, stdout=io.StringIO())
    pages = demo_pages()
    hooks = webhook_pages(settings)
    pages["owner"] += [*hooks, f"{hooks[1]} then [data-dialog-open=dialog-rotate]"]
    pages["viewer"] += hooks
    sso_console, sso_portal = sso_pages()
    console, portal = audit_trail_pages(settings)
    console += sso_console
    portal += sso_portal
    pages["owner"] += console
    pages["viewer"] += console
    pages["customer admin"] += portal
    logins = {
        "owner": OWNER_EMAIL,
        "viewer": VIEWER_EMAIL,
        "customer admin": customer_admin_email(),
        "visitor": None,
    }
    pages["visitor"] = [
        "/accounts/login/",
        "/accounts/login/?password=1",
        "/sso/oidc/00000000-0000-4000-8000-000000000000/callback/?state=already-used",
        # A start from elsewhere asks before it goes to the IdP (an active SAML connection).
        f"/sso/{SsoConnection.objects.unscoped().get(name='Entra SAML').pk}/start/",
        "/accounts/password-reset/",
        invite_link(),
        "/admin/login/",
        "/api/v1/docs",
    ]
    pages["support"] = support_pages()
    logins["support"] = SUPPORT_EMAIL
    # A customer's IT contact with an SSO setup link (two, one per width: a link opens once).
    setup_links, setup_pages = sso_setup_pages()
    pages["visitor"].append(setup_links.pop())  # the page with the button: it opens nothing
    pages["it contact"] = setup_pages
    logins["it contact"] = None
    shots = Path(os.environ["SCREENSHOTS"]) if os.environ.get("SCREENSHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    findings: list[Finding] = []
    checked = 0
    for who, email in logins.items():
        for width, (w, h) in WIDTHS.items():
            context = browser.new_context(
                base_url=live_server.url, viewport={"width": w, "height": h}
            )
            page = context.new_page()
            if who == "support":  # support staff sign in to /admin/ on its own page
                page.goto("/admin/login/")
                page.fill("#id_username", email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("input[type=submit]")
                page.wait_for_load_state("networkidle")
                assert "/admin/login/" not in page.url, "support could not sign in to /admin/"
            elif email:
                sign_in(page, email, DEMO_PASSWORD)
                page.wait_for_load_state("networkidle")
            elif who == "it contact":
                page.goto(setup_links.pop())
                page.get_by_role("button", name="Open the setup").click()
                page.wait_for_load_state("networkidle")
            for path in pages[who]:
                findings += audit(page, who, width, path, shots)
                checked += 1
            context.close()
    count("accessibility: page × width × person checked", checked)
    count("accessibility: violations and sideways scrolls", len(findings))
    assert not findings, "\n".join(map(str, findings))
