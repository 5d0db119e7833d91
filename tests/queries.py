"""Which tables a page's queries read, in order: how tests assert a page's query plan."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def main_table(sql: str) -> str:
    """The table a query reads, past its subqueries (parentheses are dropped inside out)."""
    while (shorter := re.sub(r"\([^()]*\)", "", sql)) != sql:
        sql = shorter
    return re.search(r'FROM "(\w+)"', sql).group(1)


def tables_read(client: Any, url: str, **extra: Any) -> list[str]:
    """The main table of each query a GET of ``url`` runs (it must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
        assert response.status_code == 200, response.status_code
    return [main_table(query["sql"]) for query in captured]
