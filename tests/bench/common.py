"""What every part of the benchmark shares: the data sizes, its output and its one error."""

from __future__ import annotations

import sys

SIZES = {
    "default": {
        "customers": 100_000,
        "executions": 1_000_000,
        "events": 1_000_000,
        "audit": 1_000_000,
        "requests": 30,
        "ingest_seconds": 10,
    },
    "quick": {
        "customers": 2_000,
        "executions": 20_000,
        "events": 20_000,
        "audit": 20_000,
        "requests": 5,
        "ingest_seconds": 2,
    },
}


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


class Output:
    """Lines to standard output, as a management command's ``stdout.write`` prints them."""

    def write(self, text: str = "", ending: str = "\n") -> None:
        sys.stdout.write(text + ending)
        sys.stdout.flush()
