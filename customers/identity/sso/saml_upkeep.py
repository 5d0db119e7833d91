"""The SAML connections' daily upkeep, a pass of the worker's: metadata URLs read again (a
new certificate arrives by itself), and signing certificates about to expire warned about,
once each, to the customer's admins and the organization's owners and admins (email, audit
trail, webhook); assertions long expired are forgotten."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from customers.identity.models import Membership
from customers.identity.sso import saml_metadata
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import WARN_BEFORE, SsoConnection
from customers.identity.sso.saml_services import saml_assertions_forget
from customers.identity.sso.services import sso_connection_update
from customers.people.models import CustomerUser
from customers.platform import mail
from customers.platform.errors import ServiceError

logger = logging.getLogger(__name__)

REFRESH_AFTER = timedelta(days=1)
# So many connections a pass at most, for so long at most: a slow IdP cannot hold the worker.
PASS_SIZE = 20
PASS_SECONDS = 5.0


def _refreshed(connection: SsoConnection, now: datetime) -> bool:
    """Read the connection's metadata URL again; a new certificate (or SSO URL, or entity id)
    is saved as a change by the system, audited. A failure keeps the settings and is logged."""
    SsoConnection.objects.for_worker().filter(pk=connection.pk).update(idp_metadata_fetched_at=now)
    try:
        idp = saml_metadata.fetch_metadata(connection.idp_metadata_url)
    except SsoCheckFailed as failure:
        logger.warning("SAML metadata of %s not refreshed: %s", connection.pk, failure)
        return False
    changes = {k: v for k, v in idp.fields().items() if getattr(connection, k) != v}
    if changes:
        try:
            sso_connection_update(connection=connection, actor=None, changes=changes)
        except ServiceError as refusal:
            logger.warning("SAML metadata of %s not applied: %s", connection.pk, refusal)
            return False
    return True


def _warn(connection: SsoConnection) -> None:
    """Tell the customer's admins and the organization's owners and admins, once for this
    certificate, that it expires soon: by email, in the trail, and as a webhook."""
    expires = connection.certificate_expires_at
    words = saml_metadata.expiry_words(expires)
    with transaction.atomic():
        claimed = (
            SsoConnection.objects.for_worker()
            .filter(pk=connection.pk, certificate_expires_at=expires)
            .exclude(certificate_warned_for=expires)
            .update(certificate_warned_for=expires)
        )
        if not claimed:  # another pass warned meanwhile, or the certificate was replaced
            return
        record(
            action=Action.SSO_CERTIFICATE_EXPIRING,
            organization=connection.customer.organization,
            resource=connection,
            changes={"certificate_expires_at": [None, expires.isoformat() if expires else None]},
            message=f"The signing certificate of “{connection.name}” {words}.",
        )
    to = set(CustomerUser.admin_emails(connection.customer)) | set(
        Membership.objects.filter(
            organization_id=connection.organization_id,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        ).values_list("user__email", flat=True)
    )
    context = {"customer": connection.customer.name, "connection": connection.name, "when": words}
    try:
        mail.send(mail.letter("customers/email/sso_certificate_expiring", context), sorted(to))
    except Exception:  # the warning is recorded and sent as a webhook; the email is logged
        logger.exception("The certificate warning for %s could not be emailed", connection.pk)


def saml_upkeep_due(now: datetime | None = None) -> dict[str, int]:
    """The worker's pass: metadata URLs read a day ago are read again, then every active
    connection whose signing certificate expires within 30 days is warned about, once per
    certificate. Assertions long expired are forgotten."""
    now = now or timezone.now()
    deadline = time.monotonic() + PASS_SECONDS
    stale = (
        SsoConnection.objects.for_worker()
        .filter(protocol=SsoConnection.Protocol.SAML)
        .exclude(idp_metadata_url="")
        .filter(
            Q(idp_metadata_fetched_at__isnull=True)
            | Q(idp_metadata_fetched_at__lt=now - REFRESH_AFTER)
        )
        .select_related("customer__organization")
        .order_by(F("idp_metadata_fetched_at").asc(nulls_first=True))[:PASS_SIZE]
    )
    refreshed = sum(_refreshed(c, now) for c in stale if time.monotonic() < deadline)
    expiring = (
        SsoConnection.objects.for_worker()
        .filter(
            protocol=SsoConnection.Protocol.SAML,
            status=SsoConnection.Status.ACTIVE,
            certificate_expires_at__lte=now + WARN_BEFORE,
        )
        .exclude(certificate_warned_for=F("certificate_expires_at"))
        .select_related("customer__organization")[:PASS_SIZE]
    )
    warned = 0
    for connection in expiring:
        if not connection.customer.is_closed:
            _warn(connection)
            warned += 1
    return {
        "metadata_refreshed": refreshed,
        "certificates_warned": warned,
        "assertions_forgotten": saml_assertions_forget(now),
    }
