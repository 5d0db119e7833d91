"""One way to send email: a subject that is one line of plain text whatever a name holds, a text
body with an optional HTML one, a message per recipient (no one sees the others' addresses),
all over one connection. The invitation, the relink alert, usage alerts and digests and the
disabled-endpoint notice all go through here."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from customers.platform.text import one_line

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    html: str = ""


def letter(template: str, context: dict[str, Any]) -> Letter:
    """``<template>_subject.txt``, ``<template>.txt`` and, when there is one,
    ``<template>.html``, rendered with ``context``."""
    html: str
    try:
        html = render_to_string(f"{template}.html", context)
    except TemplateDoesNotExist:
        html = ""
    return Letter(
        one_line(render_to_string(f"{template}_subject.txt", context)),
        render_to_string(f"{template}.txt", context),
        html,
    )


def send(letter: Letter, to: Iterable[str]) -> int:
    """One message per address, over one connection; raises what the backend raises (the
    caller logs and audits it). Returns how many went out."""
    return send_each([(letter, to)])


def send_each(batches: Iterable[tuple[Letter, Iterable[str]]]) -> int:
    """Several letters, each to its addresses (a usage alert's customer and organization
    versions), over one connection."""
    messages = []
    for letter, to in batches:
        for address in to:
            message = EmailMultiAlternatives(one_line(letter.subject), letter.text, to=[address])
            if letter.html:
                message.attach_alternative(letter.html, "text/html")
            messages.append(message)
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def send_quietly(letter: Letter, to: Iterable[str], what: str) -> int:
    """For mail sent after a commit: a failure is logged, never raised into saved work."""
    try:
        return send(letter, to)
    except Exception:  # any backend failure: SMTP down, a refused address
        logger.exception("%s could not be emailed", what)
        return 0
