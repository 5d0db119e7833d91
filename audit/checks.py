"""Deploy checks for the audit trail: the chain key is real, long and not SECRET_KEY."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def audit_chain_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    key = settings.AUDIT_CHAIN_KEY
    problems = []
    if len(key) < 32:
        problems.append("AUDIT_CHAIN_KEY must be at least 32 characters.")
    if key == settings.SECRET_KEY:
        problems.append("AUDIT_CHAIN_KEY must not be SECRET_KEY: each key has one job.")
    if key.startswith(settings.AUDIT_CHAIN_DEV_KEY):
        problems.append("AUDIT_CHAIN_KEY is the development key.")
    return [
        Error(
            problem,
            hint="Set AUDIT_CHAIN_KEY to a long random value kept apart from the database.",
            id="audit.E001",
        )
        for problem in problems
    ]
