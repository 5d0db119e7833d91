"""Access logs never hold a live invitation link: the token in /invite/<token>/ is masked,
in gunicorn's access log (``config/gunicorn.py``) and in runserver's request log."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

INVITE_TOKEN = re.compile(r"(/invite/)(?!accept/)[^/?\s\"]+")
MASK = r"\1[token]"


def mask(text: str) -> str:
    return INVITE_TOKEN.sub(MASK, text)


class MaskedGunicornLogger(Logger):
    """gunicorn's logger, with the request line, path and referrer masked."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask(atoms[key])
        return atoms


class MaskInviteTokens(logging.Filter):
    """For Django's own request loggers (runserver's "django.server", "django.request")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in args)
        return True
