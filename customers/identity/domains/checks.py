"""A start-up check for domain verification: every DNS_NAMESERVERS entry is a usable server."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from customers.platform.dns import nameserver


@register()
def dns_nameservers_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    for setting in settings.DNS_NAMESERVERS:
        try:
            nameserver(setting)
        except ImproperlyConfigured as error:
            problems.append(
                Error(
                    str(error), hint="e.g. 192.0.2.53 or [2001:db8::53]:5353", id="customers.E001"
                )
            )
    return problems
