"""What runs after every audit entry is written, inside the writing transaction: a registry
declared here, so the hooks and their order are named in one place and one that failed to
register stops the app at start-up (a signal with a lost receiver does nothing, silently)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.trail.models import AuditEntry

AfterRecord = Callable[["AuditEntry", Any], None]

# Every hook, in the order it runs. Each module registers its own with @after_record(name).
EXPECTED = (
    "health score",  # customers/health/services.py: usage and limits move the score
    "webhook outbox",  # customers/webhooks/outbox.py: the event in the outbox
    "log streams wake-up",  # audit/streams/delivery.py: the log streams' worker wakes
)
_hooks: dict[str, AfterRecord] = {}


class HookMissing(RuntimeError):
    """A declared hook is not registered, or a registered one is not declared."""


def after_record(name: str) -> Callable[[AfterRecord], AfterRecord]:
    """Register ``hook(entry, resource)`` under a name ``EXPECTED`` declares."""
    if name not in EXPECTED:
        raise HookMissing(f"{name} is not declared in audit.trail.hooks.EXPECTED")

    def register(hook: AfterRecord) -> AfterRecord:
        _hooks[name] = hook
        return hook

    return register


def check_registered() -> None:
    """At start-up (AuditConfig.ready): every declared hook is there."""
    missing = [name for name in EXPECTED if name not in _hooks]
    if missing:
        raise HookMissing(f"after-record hooks not registered: {', '.join(missing)}")


def run_after_record(entry: AuditEntry, resource: Any) -> None:
    for name in EXPECTED:
        hook = _hooks.get(name)
        if hook is not None:
            hook(entry, resource)
