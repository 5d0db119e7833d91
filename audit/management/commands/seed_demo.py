"""``manage.py seed_demo``: the demo data, which lives with the other dev tools in
audit.devtools.seed."""

from audit.devtools.seed import Command

__all__ = ["Command"]
