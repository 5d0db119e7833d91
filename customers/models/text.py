"""What one-line text fields accept: no control characters."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Control characters (line breaks, tabs, NUL, DEL…) in a one-line field end up in email
# headers, CSV cells and log lines; they are refused where the value comes in.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


NOT_ONE_LINE = (
    "Use a single line of plain text: line breaks, tabs and other control characters are not "
    "allowed here."
)


def validate_single_line(value: str) -> None:
    if value and CONTROL_CHARACTERS.search(value):
        raise ValidationError(NOT_ONE_LINE, code="control_characters")
