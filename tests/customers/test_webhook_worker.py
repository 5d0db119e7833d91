"""The real background worker (`manage.py db_worker`, django-tasks-db) as `make run` starts it:
a customer created in the console reaches a loopback receiver, signed, within 5 seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import requires_postgres
from tests.figures import count
from tests.receiver import running_receiver

ROOT = Path(__file__).resolve().parents[2]

# serial: its waits are bounds on a real worker, which a loaded machine can stretch.
pytestmark = [
    requires_postgres,
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
]


def start_worker(**extra_env: str) -> subprocess.Popen:
    """`manage.py db_worker` as `make run` starts it, on this test's database (another
    process: it reads what the test committed, and so do its tasks)."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "1",
        "WEBHOOKS_ALLOW_PRIVATE": "1",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_customer_created_in_the_console_arrives_within_5_seconds(settings, org, owner, client):
    # The worker is another process: it reads this test's database, and so do its tasks.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with running_receiver() as receiver:
        from customers.services import endpoint_create

        _, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
        worker = start_worker()
        try:
            time.sleep(1.5)  # the worker is up
            client.force_login(owner)
            started = time.monotonic()
            response = client.post(
                "/settings/customers/new",
                {"name": "Live Co", "slug": "live-co", "plan": org_plan(org)},
            )
            assert response.status_code == 302
            while not receiver.received and time.monotonic() - started < 5:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=10)
    assert receiver.received, worker.stderr.read().decode()[-2000:]
    [event] = receiver.events(secret)
    assert event["type"] == "customer.created"
    assert event["data"]["customer"]["name"] == "Live Co"
    count("webhooks: seconds from the console to the receiver (real worker)", round(elapsed, 2))
    assert elapsed < 5


def org_plan(org) -> str:
    from billing.selectors import plans_of

    return str(plans_of(org).get(name="Free").pk)


def test_a_hanging_receiver_holds_up_no_other_organizations_delivery(
    settings, org, owner, other_org, outsider, tmp_path
):
    """The attacker's case, with the real worker: one organization's endpoint hangs (10 s
    timeouts) with 40 deliveries queued, as after "Replay since"; another organization's
    webhook and file stream still arrive within a few seconds."""
    from audit.streams.delivery import stream_file
    from audit.streams.services import stream_create
    from customers.services import endpoint_create
    from tests.factories import make_customer
    from tests.receiver import hanging_receiver

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.AUDIT_STREAM_FILE_DIR = tmp_path / "streams"
    with hanging_receiver() as hangs, running_receiver() as receiver:
        endpoint_create(organization=org, url=hangs, actor=owner)
        for n in range(40):
            make_customer(org, actor=owner, name=f"Backlog {n}")
        endpoint_create(organization=other_org, url=receiver.url, actor=outsider)
        stream, _ = stream_create(
            organization=other_org, actor=outsider, kind="file", name="F", file_name="a.jsonl"
        )
        worker = start_worker(AUDIT_STREAM_FILE_DIR=str(tmp_path / "streams"))
        try:
            time.sleep(2)  # the worker is up, and busy with the hanging endpoint
            started = time.monotonic()
            make_customer(other_org, actor=outsider, name="Waiting Co")
            path = stream_file(stream)
            while time.monotonic() - started < 20 and not (
                receiver.received and path.exists() and "Waiting Co" in path.read_text()
            ):
                time.sleep(0.05)
            webhook_delay = receiver.received[0]["at"] - started if receiver.received else None
            stream_delay = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=15)
    assert webhook_delay is not None, worker.stderr.read().decode()[-2000:]
    count(
        "fairness: ms another organization waited, real worker (webhook)", int(webhook_delay * 1000)
    )
    count(
        "fairness: ms another organization waited, real worker (log stream)",
        int(stream_delay * 1000),
    )
    assert webhook_delay < 5
    assert stream_delay < 5
