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

pytestmark = [requires_postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_customer_created_in_the_console_arrives_within_5_seconds(settings, org, owner, client):
    # The worker is another process: it reads this test's database, and so do its tasks.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "1",
        "WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    with running_receiver() as receiver:
        from customers.services import endpoint_create

        _, secret = endpoint_create(organization=org, url=receiver.url, actor=owner)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
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
