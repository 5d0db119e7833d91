"""Cutting anything secret-looking out of a message before it is stored (a connection's last
error, a status report's detail): such text ends up in the console, the audit log and webhooks."""

from __future__ import annotations

import re

from customers.platform.text import one_line

# Anything in an error message that looks like a credential is cut before it is stored:
# values of secret-sounding keys (key=value, key: value, "key": "value", key value), auth
# schemes and their credentials, passwords in URLs, PEM blocks, and long token-like words
# (letters and digits mixed, 24 or more). Harmless words ("error code: 429") are kept.
_SECRET_KEYS = (
    r"(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|token|access[_-]?token|"
    r"refresh[_-]?token|id[_-]?token|api[_-]?key|apikey|private[_-]?key|secret[_-]?key|"
    r"authorization|auth|cookie|session(?:[_-]?id)?|credentials?|signature|sig|key)"
)
_PASSWORD_WORDS = r"(?:password|passwd|pwd|passphrase|secret)"
SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*-----.*", re.S),
    re.compile(r"(?i)\b((?:bearer|basic|token|digest|negotiate)\s+)[A-Za-z0-9._~+/=\-]{4,}"),
    re.compile(r"(?i)(://)[^/\s:@]+:[^/\s@]+@"),
    re.compile(
        rf"""(?i)(["']?\b[\w-]*{_SECRET_KEYS}["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}}]+)"""
    ),
    re.compile(rf"(?i)(\b{_PASSWORD_WORDS}\s+)(?!is\b|was\b|for\b)[^\s,;&}}]+"),
    re.compile(r"(?=[A-Za-z0-9_\-+/=.]*\d)(?=[A-Za-z0-9_\-+/=.]*[A-Za-z])[A-Za-z0-9_\-+/=.]{24,}"),
]


def scrub(message: str) -> str:
    """One line, at most 200 characters, with anything secret-looking replaced."""
    text = one_line(message)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(_redacted, text)
    return text[:200]


def _redacted(match: re.Match[str]) -> str:
    # Keep what names the secret ("password=", "Bearer ", "https://"), never the secret.
    if match.re.groups >= 1 and match.group(1):
        return f"{match.group(1)}[redacted]" + ("@" if match.group(1) == "://" else "")
    return "[redacted]"
