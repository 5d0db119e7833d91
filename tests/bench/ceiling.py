"""What PostgreSQL itself can do: the hot path's own SQL under pgbench (same clients, same
machine), the ceiling each ingestion scenario is reported against."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.bench.common import BenchError, Output

ITEM = {"type": "webhook", "direction": "incoming", "name": "order.created"}


class Ceiling:
    stdout: Output

    def ingestion_sql(self, secret: str, customer_id: Any, batch: int) -> list[str]:
        """The statements one accepted request runs, with their values as literals (as Django
        logs them), taken from a real request in-process."""
        body = json.dumps(ITEM if batch == 1 else [ITEM] * batch)
        with CaptureQueriesContext(connection) as captured:
            response = Client().post(
                f"/api/v1/customer/{customer_id}/events",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
        if response.status_code != 201:
            raise BenchError(f"An ingestion request answered {response.status_code}")
        return [query["sql"] for query in captured.captured_queries]

    def pgbench(self, statements: list[str], picks: list[Any], clients: int, seconds: int) -> float:
        """Requests per second pgbench runs ``statements`` at, each "transaction" one request's
        statements for a customer drawn from ``picks`` (as the clients draw them)."""
        if shutil.which("pgbench") is None:
            raise BenchError("pgbench is missing: apt-get install postgresql-client")
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_pick")
            cursor.execute("CREATE TABLE bench_pick (n int PRIMARY KEY, id uuid NOT NULL)")
            cursor.executemany("INSERT INTO bench_pick VALUES (%s, %s)", list(enumerate(picks)))
        chosen = "(SELECT id FROM bench_pick WHERE n = :n)"
        script = [f"\\set n random(0, {len(picks) - 1})"]
        sample = str(picks[0])
        for sql in statements:
            # Each statement on one line, the sample customer swapped for the drawn one.
            line = re.sub(r"\s+", " ", sql).replace(f"'{sample}'::uuid", chosen)
            script.append(line.replace(f"'{sample}'", chosen) + ";")
        db = settings.DATABASES["default"]
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
            handle.write("\n".join(script) + "\n")
        env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
        try:
            result = subprocess.run(
                [
                    "pgbench",
                    "-n",
                    # Each statement planned once per client, as the hot path's are.
                    "-M",
                    "prepared",
                    "-f",
                    handle.name,
                    "-c",
                    str(clients),
                    "-j",
                    "2",
                    "-T",
                    str(seconds),
                    "-h",
                    db["HOST"] or "127.0.0.1",
                    "-p",
                    str(db["PORT"] or 5432),
                    "-U",
                    db["USER"],
                    db["NAME"],
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
                check=False,
                env=env,
            )
        finally:
            Path(handle.name).unlink()
        found = re.search(r"tps = ([\d.]+)", result.stdout)
        if result.returncode != 0 or found is None:
            raise BenchError(f"pgbench failed: {result.stderr.strip()[-500:]}")
        return float(found.group(1))
