"""The Audit Log's action and resource-type filters offer choices, and the catalogue of
actions names every action the code records."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from audit.trail.actions import ACTIONS, Action, action_choices, model_action
from audit.trail.services import record

ROOT = Path(__file__).resolve().parents[2]


def _spelled_actions(tree: ast.AST) -> list[int]:
    """Lines where record() or @audited() is handed an action written as a string."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name not in ("record", "audited"):
            continue
        given = [k.value for k in node.keywords if k.arg == "action"] + node.args[:1]
        lines += [n.lineno for n in given if isinstance(n, ast.Constant | ast.JoinedStr)]
    return lines


def test_every_recorded_action_comes_from_the_catalogue():
    """record() takes Action members (mypy checks each call); a string handed to it would be
    an action the catalogue does not hold."""
    spelled, calls = [], 0
    for app in ("customers", "billing", "audit", "config"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            calls += text.count("record(") + text.count("@audited(")
            spelled += [f"{path.relative_to(ROOT)}:{n}" for n in _spelled_actions(ast.parse(text))]
    assert calls > 80, "the scan found no call: its pattern is stale"
    assert spelled == []
    assert len(ACTIONS) == len(Action) > 70
    assert _spelled_actions(ast.parse('record(action="customer.created")')) == [1]


def test_actions_named_after_a_model_are_one_family_per_model():
    assert model_action("customer", "updated_by_support") == "customer.updated_by_support"
    with pytest.raises(ValueError, match="not an action named after a model"):
        model_action("customer", "anything")


def test_actions_are_grouped_by_family_with_an_any_choice():
    groups = dict(action_choices())
    customer = dict(groups["Customer"])
    assert customer["customer"] == "Any customer action"
    assert customer["customer.created"] == "Customer created"
    assert dict(groups["Customer user"])["customer_user.role_changed"] == (
        "Customer user role changed"
    )


@pytest.mark.django_db
def test_the_filters_are_choices_and_a_family_finds_its_actions(org, owner, owner_client):
    for action in ("customer.created", "customer.updated_by_support", "logout", "invite.sent"):
        record(action=action, organization=org, actor=owner, resource_type="customer")

    page = owner_client.get("/settings/audit-log/").content.decode()
    assert '<select name="action"' in page
    assert '<select name="resource_type"' in page
    assert '<option value="customer.created">Customer created</option>' in page

    def actions(query: str) -> set[str]:
        response = owner_client.get(f"/settings/audit-log/?{query}", HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        page = response.content.decode()
        rows = re.findall(r"<code class=\"muted small\">([a-z_.]+)</code>", page)
        return set(rows) & {
            "customer.created",
            "customer.updated_by_support",
            "logout",
            "invite.sent",
        }

    assert actions("action=customer") == {"customer.created", "customer.updated_by_support"}
    assert actions("action=logout") == {"logout"}
    assert actions("action=invite.sent") == {"invite.sent"}
    # An action no entry has is a filter with no rows, said so on the page, never an error.
    nonsense = owner_client.get("/settings/audit-log/?action=nonsense")
    assert nonsense.status_code == 200
    assert nonsense.context["page"].rows == []


@pytest.mark.django_db
def test_diffs_read_as_labels_not_codes(org, owner, owner_client):
    from billing.selectors import plans_of
    from customers.services import customer_update
    from tests.factories import make_customer

    customer = make_customer(org, actor=owner, name="Readable Co", admin_email="a@readable.test")
    customer_update(
        customer=customer,
        changes={"plan": plans_of(org).get(name="Pro")},
        actor=owner,
        expected_version=None,
    )

    page = owner_client.get("/settings/audit-log/").content.decode()
    assert "Plan: Free → Pro" in page  # an edit records "plan"
    assert "Plan: — → Free" in page  # a creation records "plan_id"
    assert "External ID" not in page  # set to nothing from nothing: no change to show
    assert "Role: — → Admin" in page  # the admin invitation, not "superuser"
    assert "Status: — → Pending Admin Activation" in page
    assert str(plans_of(org).get(name="Pro").pk) not in page
    assert "superuser" not in page
    assert re.search(r'data-label="Action">(<a [^>]*>)?Customer created', page)  # a label


@pytest.mark.django_db
def test_a_status_reads_in_the_words_of_the_record_it_belongs_to(org, owner, owner_client):
    """A connection and an invitation both store "revoked": each reads as its own state."""
    from customers.services import connection_revoke, customer_suspend, invite_revoke
    from tests.factories import make_connection, make_customer

    customer = make_customer(org, actor=owner, name="Words Co", admin_email="a@words.test")
    connection_revoke(connection=make_connection(customer), actor=owner)
    invite_revoke(invitation=customer.admin_invitation, actor=owner)
    customer_suspend(customer=customer, actor=owner)

    page = owner_client.get("/settings/audit-log/").content.decode()
    assert "Status: Connected → Revoked" in page
    assert "Status: Invite Pending → Invite Revoked" in page
    assert "Status: Pending Admin Activation → Suspended" in page
    assert "Connected → Invite Revoked" not in page
