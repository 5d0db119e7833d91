"""Figures the outside-in checks report at the end of a run (tests/conftest.py prints them):
generated inputs and 5xx, races and duplicates, secret flows and secrets found, seed responses
validated."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()


def count(name: str, amount: int = 1) -> None:
    FIGURES[name] += amount
