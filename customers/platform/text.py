"""Text that must stay on one line (email headers, CSV cells, log lines): what breaks it."""

from __future__ import annotations

import re

# Control characters (line breaks, tabs, NUL, DEL…) and the Unicode line and paragraph
# separators: refused in one-line fields where the value comes in, replaced in headers.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` as one line of plain text: control characters become spaces, runs of space one."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())
