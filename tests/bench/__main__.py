"""The benchmark's entry point: sizes from the command line, then load, measure, report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402  (after django.setup())
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from tests.bench.ceiling import Ceiling  # noqa: E402
from tests.bench.common import SIZES, BenchError, Output  # noqa: E402
from tests.bench.consume import Consume  # noqa: E402
from tests.bench.engines import Engines  # noqa: E402
from tests.bench.ingestion import Ingestion  # noqa: E402
from tests.bench.loading import Loading  # noqa: E402
from tests.bench.pages import Pages  # noqa: E402
from tests.bench.profile import Profile  # noqa: E402
from tests.bench.report import Report  # noqa: E402


class Bench(Loading, Pages, Profile, Engines, Ingestion, Ceiling, Consume, Report):
    def __init__(self) -> None:
        self.stdout = Output()
        self.random = random.Random(7)

    def run(self, options: dict) -> None:
        if (
            connection.vendor != "postgresql"
            or "bench" not in settings.DATABASES["default"]["NAME"]
        ):
            raise BenchError(
                "Run it through `make bench`: it needs its own PostgreSQL database whose name "
                "contains 'bench'."
            )
        size = dict(SIZES["quick" if options["quick"] else "default"])
        for key in size:
            if options.get(key) is not None:
                size[key] = options[key]
        self.size = size
        started = time.perf_counter()
        if options["reuse"]:
            self.reload(size)
        else:
            self.load(size)
        load_seconds = time.perf_counter() - started
        if options["profile"]:
            self.profile(options["profile"], max(size["requests"], 20))
            return
        pages = self.measure_pages(size["requests"])
        engines = self.measure_engines()
        ingestion = self.measure_ingestion(options["port"], size["ingest_seconds"])
        consume = self.measure_consume()
        report = {
            "when": timezone.now().isoformat(),
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "postgres": connection.cursor().connection.info.server_version,
            },
            "sizes": size,
            "load_seconds": round(load_seconds, 1),
            "pages": pages,
            "engines": engines,
            "ingestion": ingestion,
            "consume": consume,
        }
        self.print_report(report)
        out = Path(settings.BASE_DIR) / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"bench-{timezone.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        self.stdout.write(f"\nJSON: {path}")


def arguments() -> dict:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="A small run (CI uses it).")
    for name in ("customers", "executions", "events", "audit", "requests"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--ingest-seconds", type=int)
    parser.add_argument("--port", type=int, default=8779)
    parser.add_argument("--reuse", action="store_true", help="Keep the data the last run loaded.")
    parser.add_argument("--profile", metavar="PAGE", help="Profile one page (or ingest-event).")
    return vars(parser.parse_args())


if __name__ == "__main__":
    try:
        Bench().run(arguments())
    except BenchError as error:
        sys.exit(f"bench: {error}")
