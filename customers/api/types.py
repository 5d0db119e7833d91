"""Field types the API schemas share, so the OpenAPI document says exactly what the server
accepts (schemathesis holds us to it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, Field

# PostgreSQL text cannot hold NUL; refuse it at the door instead of failing at the database.
NO_NUL = r"^[^\x00]*$"
EMAIL_PATTERN = (
    r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@"
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$"
)


def is_clean_text(value: str) -> bool:
    """No NUL and no lone UTF-16 surrogates: both are legal in JSON and Python, and both make
    PostgreSQL refuse the statement."""
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def _clean(value: str) -> str:
    if not is_clean_text(value):
        raise ValueError("contains characters that are not text (NUL or a lone surrogate)")
    return value


# One-line fields (names, identifiers) also refuse line breaks and other control characters:
# they end up in email subjects, CSV cells and log lines.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
ONE_LINE_NOT_BLANK = (
    r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\x00-\x1f\x7f-\x9f\u2028\u2029\s]"
    r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
)


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A text field's rules as one ``Annotated`` item (pydantic unpacks grouped metadata): its
    length, pattern and description, and the check for what is not text."""

    field: Any

    def __iter__(self) -> Iterator[Any]:
        yield self.field
        yield AfterValidator(_clean)


def text(
    max_length: int,
    *,
    min_length: int = 0,
    description: str | None = None,
    one_line: bool = False,
) -> Text:
    """Use as ``Annotated[str, text(200, one_line=True)]``."""
    if one_line:
        pattern = ONE_LINE_NOT_BLANK if min_length else ONE_LINE
    else:
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$" if min_length else NO_NUL
    return Text(
        Field(
            min_length=min_length, max_length=max_length, pattern=pattern, description=description
        )
    )


def _iso_only(value: Any) -> Any:
    # Pydantic would read a bare number as a Unix timestamp; the schema promises ISO 8601.
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("use an ISO 8601 date and time, e.g. 2026-11-22T09:30:00Z")
    return value


def _utc(value: datetime) -> datetime:
    # PostgreSQL takes UTC offsets up to ±15:59 only; store and compare in UTC.

    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
# Cursors are "<microseconds since the epoch>~<key>": every string that fits the pattern parses.
UUID_CURSOR = Annotated[
    str, Field(pattern=r"^\d{1,18}~[0-9a-f]{32}$", description="next_cursor of the previous page")
]
INT_CURSOR = Annotated[
    str, Field(pattern=r"^\d{1,18}~\d{1,18}$", description="next_cursor of the previous page")
]
