"""Generated inputs against every page, form and filter, as the people who use them (an owner, a
customer's admin, support staff, a stranger): never a 5xx, and a refusal names the field.

The targets are found from outside: every page is fetched, and every ``<form>`` on it (its
action, method and fields, hx-get/hx-post included) and every query parameter its links use
become a target. Each generated request changes one field (sometimes all of them) to a
generated value and keeps the page's own values for the rest. Hypothesis runs with a fixed seed,
so a failure replays; FUZZ_EXAMPLES sets the examples per target."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote_plus, urljoin, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from audit.models import Execution, Workflow
from customers.models import Customer
from customers.services import api_token_create, endpoint_create, invite_accept
from tests.factories import UserFactory, make_connection, make_customer, make_seat
from tests.figures import count

# Slow: thousands of generated requests; make test runs it, make test-fast leaves it out.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "16"))
# Requests sent in this run, and how many of them got each status.
SENT: dict[str, int] = {"requests": 0, "targets": 0}

# The values a careless or hostile client sends.
FIXED = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "line\r\nBcc: x@evil.test",
    "\t",
    "\u202eRTL\u202c",
    "\u200b",
    "😀👩‍👩‍👧",
    "\ud800",
    "a\udfffb",
    "-1",
    "0",
    "-0",
    "9" * 30,
    "-" + "9" * 25,
    "4611686018427387905",
    "9223372036854775808",
    "1e309",
    "NaN",
    "0x10",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "10000-01-01",
    "2026-11-23T25:61",
    "1969-12-31T23:59:60",
    "00000000-0000-0000-0000-000000000000",
    str(uuid.UUID(int=1)),
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "acme-corp",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "//evil.example/",
    "1;DROP TABLE customers_customer",
    "x" * 100_000,
    "é" * 5_000,
]
NASTY = st.one_of(
    st.sampled_from(FIXED),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x3F), max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.uuids().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.from_regex(r"[a-z0-9-]{1,90}", fullmatch=True),
)


# --- finding the targets -------------------------------------------------------------------


@dataclass
class Target:
    """One form (or one page's query parameters) as a browser would submit it."""

    actor: str
    page: str
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.actor} {self.method} {self.action} ({', '.join(self.fields) or '-'})"


class FormFinder(HTMLParser):
    def __init__(self, page: str, actor: str) -> None:
        super().__init__()
        self.page, self.actor = page, actor
        self.targets: list[Target] = []
        self.links: dict[str, str] = {}
        self._form: Target | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open_form(attr)
        elif tag == "a":
            self._link(attr.get("href", ""))
        elif tag == "option" and self._form is not None and self._select:
            if "selected" in attr or not self._form.fields.get(self._select):
                self._form.fields[self._select] = attr.get("value", "")
        elif self._form is not None and attr.get("name"):
            self._field(tag, attr["name"], attr)

    def _open_form(self, attr: dict[str, str]) -> None:
        method = "post" if "hx-post" in attr else attr.get("method", "get").lower()
        action = attr.get("hx-post") or attr.get("hx-get") or attr.get("action") or self.page
        self._form = Target(self.actor, self.page, urljoin(self.page, action), method)

    def _link(self, href: str) -> None:
        if not href.startswith(("?", "/")):
            return
        parts = urlsplit(urljoin(self.page, href))
        if parts.path == urlsplit(self.page).path:
            self.links.update(parse_qsl(parts.query, keep_blank_values=True))

    def _field(self, tag: str, name: str, attr: dict[str, str]) -> None:
        fields = self._form.fields
        if tag == "input":
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attr:
                fields.setdefault(name, "")
            elif kind not in ("submit", "image", "reset", "file"):
                fields[name] = attr.get("value", "")
        elif tag == "select":
            self._select = name
            fields.setdefault(name, "")
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""
        elif tag == "button" and attr.get("value"):
            fields.setdefault(name, attr["value"])

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self._form.fields.pop("csrfmiddlewaretoken", None)
            self.targets.append(self._form)
            self._form = None


def find_targets(client: Client, actor: str, pages: list[str]) -> list[Target]:
    targets = []
    for page in pages:
        response = client.get(page)
        assert response.status_code < 500, page
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        finder = FormFinder(page, actor)
        finder.feed(response.content.decode())
        targets += finder.targets
        params = dict(finder.links)
        # The pagination and ordering knobs every list page reads, linked or not.
        params.update(dict.fromkeys(("page", "per_page", "sort", "cursor", "before", "after"), ""))
        targets.append(Target(actor, page, page, "get", params))
    return targets


def every_route() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns))


# --- the people and their data ---------------------------------------------------------------


@pytest.fixture
def world(org, owner, settings, django_capture_on_commit_callbacks, support_group):
    """A customer with an admin, users, a connection, an invitation, activity and tokens; the
    clients of the people who use them."""
    customer = make_customer(org, actor=owner, name="Fuzz Co", admin_email="admin@fuzz.test")
    admin = UserFactory(email="admin@fuzz.test")
    invite_accept(invitation=customer.admin_invitation, actor=admin)
    seat = make_seat(customer, role="engineer")
    connection_row = make_connection(customer)
    from customers.services import invite_send

    pending = invite_send(customer=customer, email="later@fuzz.test", role="user", actor=owner)
    token, _ = api_token_create(organization=org, name="fuzz", actor=owner)
    workflow = Workflow.objects.create(organization=org, name="sync")
    from django.utils import timezone

    execution = Execution.objects.create(
        organization=org,
        customer=customer,
        workflow=workflow,
        triggered_by="webhook",
        started_at=timezone.now(),
    )
    # Generated endpoint URLs are not resolved (no DNS lookups from a test) and nothing is
    # delivered: these tests never commit, so the worker is never woken.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/fuzz", actor=owner)
    support = UserFactory(email="support@fuzz.test", is_staff=True)
    support.groups.add(support_group)
    return {
        "customer": customer,
        "seat": seat,
        "connection": connection_row,
        "invitation": pending,
        "token": token,
        "execution": execution,
        "endpoint": endpoint,
        "users": {"owner": owner, "portal": admin, "support": support, "stranger": None},
    }


def console_pages(world) -> list[str]:
    c = world["customer"]
    return [
        "/",
        "/settings/customers/",
        "/settings/customers/new",
        f"/settings/customers/{c.pk}/",
        f"/settings/customers/{c.pk}/edit",
        "/settings/billing/",
        "/settings/billing/customer-limits/",
        f"/settings/billing/customer-limits/{c.pk}/events_per_day/",
        "/activity/executions/",
        f"/activity/executions/{world['execution'].pk}/",
        "/activity/events/",
        "/activity/customers/?q=fuzz",
        "/settings/audit-log/",
        "/settings/api-keys/",
        "/settings/webhooks/",
        f"/settings/webhooks/{world['endpoint'].pk}/",
        "/accounts/password/",
    ]


def portal_pages(world) -> list[str]:
    return [
        "/portal/",
        "/portal/settings/",
        "/portal/users/",
        "/portal/connections/",
        "/portal/usage/",
        "/portal/api-tokens/",
        "/portal/two-factor/setup/",
    ]


def support_pages(world) -> list[str]:
    c = world["customer"]
    models = ["user", "organization", "membership", "apitoken", "customer", "customeruser"]
    models += ["invitation", "connection"]
    pages = [f"/admin/customers/{m}/" for m in models]
    pages += [f"/admin/audit/{m}/" for m in ("auditentry", "execution", "event")]
    return [*pages, f"/admin/customers/customer/{c.pk}/change/", "/admin/customers/user/add/"]


def stranger_pages(world) -> list[str]:
    return ["/accounts/login/", "/accounts/password-reset/"]


PAGES = {
    "owner": console_pages,
    "portal": portal_pages,
    "support": support_pages,
    "stranger": stranger_pages,
}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- sending -------------------------------------------------------------------------------


def encode(fields: dict[str, str]) -> str:
    # Lone surrogates go out as the bytes a broken client would send, not as an encoder error.
    return "&".join(
        f"{quote_plus(k)}={quote_plus(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in fields.items()
    )


def send(client: Client, target: Target, fields: dict[str, str], htmx: bool):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"} if htmx else {}
    path = urlsplit(target.action).path
    base_query = urlsplit(target.action).query
    SENT["requests"] += 1
    if target.method == "get":
        query = "&".join(q for q in (base_query, encode(fields)) if q)
        return client.get(f"{path}?{query}", **headers)
    return client.post(
        f"{path}?{base_query}" if base_query else path,
        encode(fields),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def check(response, target: Target, changed: list[str]) -> None:
    if response.status_code >= 500:
        count("generated inputs answered 5xx")
    assert response.status_code < 500, f"{response.status_code} for {target} with {changed}"
    if response.status_code in (400, 422) and changed:
        content = response.content.decode(errors="replace")
        # The refusal names what was wrong: the field (its input, label or message) is there.
        assert any(name in content for name in changed), (target, changed, content[:500])


def fuzz(client_factory, target: Target) -> None:
    names = sorted(target.fields)
    SENT["targets"] += 1

    @seed(20261123)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        field=st.sampled_from(names) if names else st.none(),
        value=NASTY,
        everything=st.booleans(),
        htmx=st.booleans(),
    )
    def run(field, value, everything, htmx):
        fields = dict(target.fields)
        if field is None:
            fields["q"] = value
            changed = ["q"]
        elif everything:
            fields = dict.fromkeys(names, value)
            changed = names
        else:
            fields[field] = value
            changed = [field]
        response = send(client_factory(), target, fields, htmx)
        check(response, target, changed)

    run()


@pytest.mark.parametrize("actor", list(PAGES))
def test_generated_input_never_gets_a_5xx(world, actor, settings):
    settings.AXES_ENABLED = actor == "stranger"
    user = world["users"][actor]
    targets = find_targets(client_for(user), actor, PAGES[actor](world))
    assert len(targets) >= len(PAGES[actor](world))
    customer = world["customer"]

    def fresh_client() -> Client:
        if actor == "portal":
            # A generated setting (forced SSO or 2FA) would close the portal to every later
            # example: each one starts from an open portal.
            Customer.objects.unscoped().filter(pk=customer.pk).update(
                force_sso=False, force_2fa=False, ip_whitelist="", status="active"
            )
        return client_for(user)

    for target in targets:
        fuzz(fresh_client, target)


def test_every_route_with_generated_path_values(world, owner):
    """Path parameters too: every route, with each converter's slot filled by generated text."""
    client = client_for(owner)
    routes = [r for r in every_route() if not r.startswith(("api/", "admin/"))]

    @seed(20261123)
    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None)
    @given(route=st.sampled_from(routes), value=NASTY.filter(lambda v: "/" not in v))
    def run(route, value):
        import re

        path = "/" + re.sub(
            r"<[^>]+>", quote_plus(value.encode("utf-8", "surrogatepass")) or "x", route
        )
        SENT["requests"] += 1
        check(client.get(path), Target("owner", path, path, "get"), [])
        SENT["requests"] += 1
        check(client.post(path), Target("owner", path, path, "post"), [])

    run()


def test_enough_generated_inputs_were_tried():
    """The figure the closing note gives; on PostgreSQL, CI tries at least 2,000."""
    count("generated inputs tried", SENT["requests"])
    count("generated input targets", SENT["targets"])
    if connection.vendor == "postgresql" and EXAMPLES >= 16:
        assert SENT["requests"] >= 2000
