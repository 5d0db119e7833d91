"""Event ingestion's hot path on PostgreSQL: at most three round trips per accepted request.

1. one lookup: the token by its hash, with the path's customer, its status and its effective
   limits, and the organization's pooled caps;
2. one statement, in autocommit (so atomic by itself): the request counted against the rate
   limit, the events against the daily quota, the events inserted (one multi-row insert for
   a batch), and the token's last use noted once a minute;
3. its commit, which autocommit folds into the statement.

Anything unusual (no such token or customer, a suspended customer, an IP allow-list that
refuses, a pooled cap on events, which needs two counters all or nothing) answers None from
``admission`` and takes the general path (customers/identity/api/auth.py,
audit/activity/ingestion.py), which decides and audits it. Refusals read more afterwards; they
are not the hot path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from django.db import connection
from django.utils import timezone

from audit.activity.models import Event
from billing.services import (
    QuotaExceeded,
    announce_exceeded,
    counted,
    counter_cte,
    limit_columns,
    limit_joins,
    refusal,
    refused,
)
from customers.identity.api.auth import spend_request
from customers.platform.net import client_ip, ip_allowed
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import uuid_or_none
from customers.selectors import CLOSED_STATUSES, ApiToken, Customer

logger = logging.getLogger(__name__)

RATE, QUOTA = "api_requests_per_minute", "events_per_day"
EVENT_COLUMNS = ("type", "direction", "name", "status", "occurred_at", "payload_summary")
ARRAY_TYPES = ("text", "text", "text", "text", "timestamptz", "text")


@dataclass(frozen=True)
class Admission:
    """An API token admitted by the hot path's lookup, for one customer's events."""

    token_id: Any
    organization_id: Any
    token_customer_id: Any
    customer_id: Any
    rate_limit: int | None
    rate_pool: int | None
    quota_limit: int | None
    touch: bool  # the token's last use is more than a minute old


class _Lookup(NamedTuple):
    """One row of the lookup, in its SELECT's order."""

    token_id: Any
    organization_id: Any
    token_customer_id: Any
    last_used_at: datetime | None
    customer_id: Any  # None: no such customer in the token's organization
    status: str | None
    ip_whitelist: str | None
    rate_limit: int | None
    rate_pool: int | None
    quota_limit: int | None
    quota_pool: int | None


def admission(request: AuthedRequest, secret: str) -> Admission | None:
    """The hot path's one lookup, or None when the general path must decide."""
    customer_id = _path_customer(request, secret)
    if customer_id is None:
        return None
    now = timezone.now()
    row = _lookup(customer_id, secret, now)
    if row is None or not _usual(request, row):
        return None
    return Admission(
        token_id=row.token_id,
        organization_id=row.organization_id,
        token_customer_id=row.token_customer_id,
        customer_id=row.customer_id,
        rate_limit=row.rate_limit,
        rate_pool=row.rate_pool,
        quota_limit=row.quota_limit,
        touch=row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1),
    )


def _path_customer(request: AuthedRequest, secret: str) -> Any:
    """The customer id of an events POST on PostgreSQL with a token-shaped secret, else None."""
    if connection.vendor != "postgresql" or request.method != "POST":
        return None
    if not secret.startswith(ApiToken.PREFIX) or len(secret) > 200:
        return None
    match = request.resolver_match
    return uuid_or_none(match.kwargs.get("customer_id")) if match else None


def _lookup(customer_id: Any, secret: str, now: datetime) -> _Lookup | None:
    rate_joins, rate_params = limit_joins(RATE, "r", now)
    quota_joins, quota_params = limit_joins(QUOTA, "q", now)
    sql = f"""
    SELECT t.id, t.organization_id, t.customer_id, t.last_used_at, c.id, c.status, c.ip_whitelist,
      {limit_columns("r")}, {limit_columns("q")}
    FROM {ApiToken._meta.db_table} t
    LEFT JOIN {Customer._meta.db_table} c ON c.id = %s AND c.organization_id = t.organization_id
    {rate_joins} {quota_joins}
    WHERE t.token_hash = %s AND t.revoked_at IS NULL"""  # noqa: S608 (identifiers from the models, values as parameters)
    with _prepared_cursor() as cursor:
        cursor.execute(sql, [customer_id, *rate_params, *quota_params, ApiToken.hash(secret)])
        row = cursor.fetchone()
    return _Lookup(*row) if row else None


def _usual(request: AuthedRequest, row: _Lookup) -> bool:
    """The customer exists and takes events, the token may reach it from here, and no pooled
    cap on events asks for two counters all or nothing: else the general path decides."""
    if row.customer_id is None or row.status in CLOSED_STATUSES:
        return False
    if row.quota_pool is not None:
        return False
    if row.token_customer_id is None:
        return True
    # A customer token under a pooled rate cap spends two counters, all or nothing.
    return (
        row.rate_pool is None
        and row.token_customer_id == row.customer_id
        and ip_allowed(client_ip(request), row.ip_whitelist)
    )


def events_store(admission: Admission, items: list[dict[str, Any]]) -> int:
    """Count and store ``items`` in one statement; the number stored, or QuotaExceeded (audited
    and announced as the general path does)."""
    now = timezone.now()
    org, customer = admission.organization_id, admission.customer_id
    amount = len(items)
    rate_sql, rate_params = _rate_cte(admission, now)
    quota_sql, quota_params = counter_cte(
        pooled=False,
        organization_id=org,
        customer_id=customer,
        dimension=QUOTA,
        amount=amount,
        limit=admission.quota_limit,
        now=now,
        after="rate",
    )
    arrays = [
        [item.get(column) or (now if column == "occurred_at" else "") for item in items]
        for column in EVENT_COLUMNS
    ]
    unnest = ", ".join(f"%s::{kind}[]" for kind in ARRAY_TYPES)
    sql = f"""
    WITH rate AS ({rate_sql}),
    quota AS ({quota_sql}),
    stored AS (
      INSERT INTO {Event._meta.db_table} (organization_id, customer_id, {", ".join(EVENT_COLUMNS)})
      SELECT %s, %s, e.* FROM quota, unnest({unnest}) AS e
      RETURNING 1),
    touched AS (
      UPDATE {ApiToken._meta.db_table} SET last_used_at = %s WHERE id = %s AND %s RETURNING 1)
    SELECT (SELECT count(*) FROM rate), (SELECT max(used) FROM rate),
      (SELECT max(used) FROM quota), (SELECT count(*) FROM stored)"""  # noqa: S608 (as above)
    params = [
        *rate_params,
        *quota_params,
        org,
        customer,
        *arrays,
        now,
        admission.token_id,
        admission.touch,
    ]
    with _prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rate_passed, _rate_used, quota_used, stored = cursor.fetchone()
    if not rate_passed:
        _refuse_rate(admission, now)
    if quota_used is None:
        _refuse_quota(admission, now)
    try:
        counted(
            organization_id=org,
            customer_id=customer,
            dimension=QUOTA,
            limit=admission.quota_limit,
            amount=amount,
            used=quota_used,
            now=now,
        )
    except Exception:
        # The events are committed: a failed alert must not turn them into a 500 that a client
        # retries into duplicates. It is logged; the next whole percent tries again.
        logger.exception("Usage alerts after ingestion failed for customer %s", customer)
    return stored


def _rate_cte(admission: Admission, now: datetime) -> tuple[str, list[Any]]:
    """A customer token spends its customer's requests per minute; an organization token the
    pooled cap of that dimension, when one is set; otherwise nothing counts the request."""
    pooled = admission.token_customer_id is None
    if pooled and admission.rate_pool is None:
        return "SELECT 0::bigint AS used", []
    return counter_cte(
        pooled=pooled,
        organization_id=admission.organization_id,
        customer_id=None if pooled else admission.customer_id,
        dimension=RATE,
        amount=1,
        limit=admission.rate_pool if pooled else admission.rate_limit,
        now=now,
    )


def body_refused(request: AuthedRequest) -> None:
    """A request the hot path admitted whose body the API then refused (422) still spends the
    rate limit, as the general path spends it while authenticating: a client past its rate
    gets 429, and an invalid body is no way around the limit. Raises QuotaExceeded."""
    admission = request.auth if isinstance(getattr(request, "auth", None), Admission) else None
    if admission is None:
        return
    customer = _customer(admission) if admission.token_customer_id is not None else None
    spend_request(customer, admission.organization_id)


def _prepared_cursor() -> Any:
    """A cursor whose statements PostgreSQL plans once per connection and then only runs: the
    lookup's joins take about 2 ms to plan and 0.1 ms to run (make bench PROFILE=ingest-event).
    Django's cursors bind values client-side and never prepare; this one binds them on the
    server. The pool hands out real connections, so a prepared statement stays with the
    connection that prepared it (a transaction-mode pgbouncer would need
    max_prepared_statements). While queries are logged (DEBUG, tests counting them, the
    bench taking the SQL for pgbench) it is Django's own cursor, which logs the same statements
    with their values written in."""
    if connection.queries_logged:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparing off; only this cursor prepares
        raw.prepare_threshold = 0
    return connection.make_cursor(psycopg.Cursor(raw))


def _refuse_rate(admission: Admission, now: datetime) -> None:
    pooled = admission.token_customer_id is None
    consumption = refusal(
        organization_id=admission.organization_id,
        customer_id=admission.customer_id,
        dimension=RATE,
        limit=admission.rate_pool if pooled else admission.rate_limit,
        now=now,
        scope="pool" if pooled else "customer",
    )
    if not pooled:
        announce_exceeded(_customer(admission), consumption)  # quota.exceeded, once per window
    raise QuotaExceeded(consumption)


def _refuse_quota(admission: Admission, now: datetime) -> None:
    consumption = refusal(
        organization_id=admission.organization_id,
        customer_id=admission.customer_id,
        dimension=QUOTA,
        limit=admission.quota_limit,
        now=now,
    )
    token = (
        ApiToken.objects.for_organization(admission.organization_id)
        .select_related("organization", "customer")
        .get(pk=admission.token_id)
    )
    refused(_customer(admission), consumption, "events.refused", token)
    raise QuotaExceeded(consumption)


def _customer(admission: Admission) -> Customer:
    return (
        Customer.objects.for_organization(admission.organization_id)
        .select_related("organization")
        .get(pk=admission.customer_id)
    )
