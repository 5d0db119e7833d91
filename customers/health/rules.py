"""The health of a connected account and a customer's health score: pure rules over numbers.

A connected account is, in this order:
- **relink needed** when its credential expired (the provider revoked or expired it);
- **degraded** when the runtime reports it as failing, when its last outcome in the last
  7 days was an error, or when at least 20% of at least 5 outcomes in 7 days were errors;
- **idle** when nothing used it for CONNECTION_IDLE_DAYS (30 by default);
- **healthy** otherwise. A connection the customer revoked has no health.

A customer's score starts at 100 and loses:
- 25 per connection that needs relinking, 10 per degraded one, 5 per idle one (at most 50
  for connections in all);
- half the percentage of its executions that failed in the last 7 days (at least 5 finished:
  12% failed costs 6);
- 35 at a limit (100%), 25 at 80% or more of one: where usage alerts fire (the highest usage
  share of the daily and monthly limits; seats and connected accounts at their limit are not
  a problem in themselves).
It never goes below 0. Below 80 it "needs attention": one connection to relink, or one limit at
80%, is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

RELINK_NEEDED, DEGRADED, IDLE, HEALTHY = "relink_needed", "degraded", "idle", "healthy"
PENALTY = {RELINK_NEEDED: 25, DEGRADED: 10, IDLE: 5}
CONNECTIONS_MAX_PENALTY = 50
NEEDS_ATTENTION_BELOW = 80
MIN_EXECUTIONS = 5
MIN_OUTCOMES, ERROR_SHARE = 5, 0.2


@dataclass(frozen=True)
class ConnectionFacts:
    status: str
    connected_at: datetime
    last_used_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    errors_7d: int = 0
    successes_7d: int = 0


def connection_health(facts: ConnectionFacts, *, now: datetime, idle_days: int) -> str | None:
    if facts.status == "revoked":
        return None
    if facts.status == "expired":
        return RELINK_NEEDED
    if facts.status == "error" or _failing(facts):
        return DEGRADED
    if now - last_seen(facts) > timedelta(days=idle_days):
        return IDLE
    return HEALTHY


def _failing(facts: ConnectionFacts) -> bool:
    if facts.errors_7d == 0:
        return False
    last_was_error = facts.last_error_at is not None and (
        facts.last_success_at is None or facts.last_error_at >= facts.last_success_at
    )
    outcomes = facts.errors_7d + facts.successes_7d
    return last_was_error or (
        outcomes >= MIN_OUTCOMES and facts.errors_7d / outcomes >= ERROR_SHARE
    )


@dataclass(frozen=True)
class ConnectionState:
    app: str
    health: str
    since: datetime | None
    last_seen: datetime | None = None  # for an idle one: when anything last used it
    errors_7d: int = 0


@dataclass(frozen=True)
class Score:
    value: int
    reasons: list[str]

    @property
    def needs_attention(self) -> bool:
        return self.value < NEEDS_ATTENTION_BELOW


def customer_score(
    *,
    connections: list[ConnectionState],
    executions_finished: int,
    executions_failed: int,
    usage_percent: int | None,
    usage_label: str = "",
    now: datetime,
) -> Score:
    """The score and its reasons, worst first: each reason says what and since when."""
    penalties = [
        *_connection_penalties(connections, now),
        *_execution_penalty(executions_finished, executions_failed),
        *_usage_penalty(usage_percent, usage_label),
    ]
    reasons = [text for _, text in sorted(penalties, key=lambda p: -p[0])]
    return Score(max(0, 100 - sum(points for points, _ in penalties)), reasons)


def _connection_penalties(
    connections: list[ConnectionState], now: datetime
) -> list[tuple[int, str]]:
    penalties, budget = [], CONNECTIONS_MAX_PENALTY
    for state in sorted(connections, key=lambda s: -PENALTY.get(s.health, 0)):
        points = min(PENALTY.get(state.health, 0), budget)
        if PENALTY.get(state.health):
            budget -= points
            penalties.append((points, _connection_reason(state, now)))
    return penalties


def _execution_penalty(finished: int, failed: int) -> list[tuple[int, str]]:
    if finished < MIN_EXECUTIONS or not failed:
        return []
    share = round(100 * failed / finished)
    return [(round(share / 2), f"{share}% of executions failed this week")]


def _usage_penalty(percent: int | None, label: str) -> list[tuple[int, str]]:
    if percent is None or percent < 80:
        return []
    where = "at its limit" if percent >= 100 else f"at {percent}% of its limit"
    return [(35 if percent >= 100 else 25, f"{label or 'Usage'} {where}")]


def _connection_reason(state: ConnectionState, now: datetime) -> str:
    if state.health == IDLE and state.last_seen is not None:
        return f"{state.app} connection is idle: unused for {(now - state.last_seen).days} days"
    if state.health == DEGRADED:
        errors = f"{state.errors_7d} error{'s' if state.errors_7d != 1 else ''} in 7 days"
        return f"{state.app} connection is degraded: {errors if state.errors_7d else 'failing'}"
    return f"{state.app} connection has needed relinking{_since(state.since, now)}"


def last_seen(facts: ConnectionFacts) -> datetime:
    seen = [facts.connected_at, facts.last_used_at, facts.last_success_at, facts.last_error_at]
    return max(t for t in seen if t is not None)


def _since(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    days = (now - moment).days
    if days >= 2:
        return f" for {days} days"
    return " since yesterday" if days == 1 else " since today"
