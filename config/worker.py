"""The background worker's recurring job (django-tasks), which wires every app's jobs together
(so it lives in config, above the apps): announce invitations that expired,
send webhook deliveries that are due, refresh health scores that are an hour old, send each
organization's weekly usage digest once, checkpoint the audit chains every ten minutes and
archive expired audit entries every hour, check pending domains' DNS records hourly, keep SAML
connections' metadata and certificates fresh, and come back in a minute."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import default_task_backend, task

from audit.archive import archives_due
from audit.checkpoints import checkpoints_due
from audit.streams.delivery import deliver_now as streams_deliver_now
from billing.services import usage_digests_due
from customers.health.services import customers_health_refresh_due
from customers.identity.domains.services import domains_check_due
from customers.identity.sso.saml_upkeep import saml_upkeep_due
from customers.people.services.invitations import invitations_announce_expired
from customers.platform.jobs import waiting
from customers.webhooks.delivery import deliver_now

EVERY = timedelta(minutes=1)


@task()
def housekeeping() -> dict[str, int]:
    try:
        expired = invitations_announce_expired()
        sent = deliver_now()
        refreshed = customers_health_refresh_due()
        digests = usage_digests_due()
        streamed = streams_deliver_now()
        checkpointed = checkpoints_due()
        archived = archives_due()
        domains = domains_check_due()
        saml = saml_upkeep_due()
    finally:  # comes back in a minute even after a failure
        if default_task_backend.supports_defer:
            again = timezone.now() + EVERY
            if not waiting(housekeeping, again):
                housekeeping.using(run_after=again).enqueue()
    return {
        "invitations_expired": expired,
        "deliveries_attempted": sent,
        "health_refreshed": refreshed,
        "digests_sent": digests,
        "audit_streamed": streamed,
        "audit_checkpoints": checkpointed,
        "audit_archived": archived,
        "domains_checked": domains,
        **saml,
    }
