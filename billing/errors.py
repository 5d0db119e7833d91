"""What a refused limit change raises."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customers.platform.errors import Conflict, Invalid

if TYPE_CHECKING:
    pass


class LimitError(Invalid):
    """A limit change was refused; the message is for the person who asked."""


class NothingToReset(Conflict, LimitError):
    """The customer already follows the plan's default."""
