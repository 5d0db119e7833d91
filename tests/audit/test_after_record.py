"""What follows every audit entry: the registry names each hook, and none can go missing."""

from __future__ import annotations

import pytest

from audit.trail import hooks
from audit.trail.services import record


def test_every_declared_hook_is_registered_at_start_up():
    assert list(hooks._hooks) != []
    assert set(hooks._hooks) == set(hooks.EXPECTED)
    hooks.check_registered()  # what AuditConfig.ready() runs


def test_a_lost_hook_stops_the_start(monkeypatch):
    monkeypatch.delitem(hooks._hooks, "webhook outbox")
    with pytest.raises(hooks.HookMissing, match="webhook outbox"):
        hooks.check_registered()


def test_an_undeclared_hook_cannot_register():
    with pytest.raises(hooks.HookMissing, match="not declared"):
        hooks.after_record("somewhere else")


def test_hooks_run_in_the_declared_order_inside_the_writing_transaction(org, monkeypatch):
    ran = []
    for name in hooks.EXPECTED:
        monkeypatch.setitem(hooks._hooks, name, lambda entry, resource, n=name: ran.append(n))
    entry = record(action="audit_settings.changed", organization=org)
    assert ran == list(hooks.EXPECTED)
    assert entry.pk is not None
