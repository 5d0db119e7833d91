"""What one-line text fields accept: no control characters."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from customers.platform.text import CONTROL_CHARACTERS

NOT_ONE_LINE = (
    "Use a single line of plain text: line breaks, tabs and other control characters are not "
    "allowed here."
)


def validate_single_line(value: str) -> None:
    if value and CONTROL_CHARACTERS.search(value):
        raise ValidationError(NOT_ONE_LINE, code="control_characters")
