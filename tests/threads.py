"""Racing real threads against the database: each starts at one barrier, on its own
connection, and every error is kept for the test to read."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def race(threads: int, work: Callable[[int], object]) -> list[BaseException]:
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    return errors
