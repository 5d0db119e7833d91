"""The worker's jobs, whatever they send: "come back when the next one is due" without queueing
twice, and what runs between the worker's polls (log streams, beside webhook sending)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

# Work the worker does between polls while attempts are under way (audit log streams, which
# must not wait behind a slow webhook receiver); registered by the apps that have it.
BETWEEN_POLLS: list[Callable[[], Any]] = []


def waiting(job: Any, by: datetime) -> bool:
    """That job is already queued to run by then (one is enough; database backend)."""
    if not isinstance(default_task_backend, DatabaseBackend):
        return False
    return (
        DBTaskResult.objects.filter(task_path=job.module_path, status=TaskResultStatus.READY)
        .filter(models.Q(run_after__lte=by) | models.Q(run_after=get_date_max()))
        .exists()
    )


def come_back(job: Any, at: datetime | None) -> None:
    """Queue ``job`` to run again at ``at`` (a second from now at the soonest), unless one is
    queued by then already; nothing when there is no next time or the backend cannot defer."""
    if at is None or not default_task_backend.supports_defer:
        return
    at = max(at, timezone.now() + timedelta(seconds=1))
    if not waiting(job, at):
        job.using(run_after=at).enqueue()
