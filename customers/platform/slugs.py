"""The slug rule organizations and customers share: its length, and the slug a name suggests."""

from __future__ import annotations

import re

from django.utils.text import slugify

UUID_SHAPED = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE
)

# A slug is at most 80 characters; one made from a name stops at 70, leaving room for the "-2"
# that tells two of the same name apart. The browser's slug preview takes the same
# length from the name field's data-slug-length (customers/records/forms.py).
SLUG_LENGTH = 80
SLUG_FROM_NAME_LENGTH = 70


def slug_from_name(name: str, fallback: str = "customer") -> str:
    """The slug a name suggests: never UUID-shaped, never longer than the room left for a
    suffix, ``fallback`` when the name has no letters or digits."""
    base = slugify(name)[:SLUG_FROM_NAME_LENGTH].rstrip("-_") or fallback
    return f"c-{base}"[:SLUG_FROM_NAME_LENGTH] if UUID_SHAPED.match(base) else base
