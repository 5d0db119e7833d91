"""Access logs never hold a live secret link: the tokens in invitation links (/invite/<token>/),
SSO setup links (/sso/setup/<token>/), password-reset links (/accounts/reset/<uid>/<token>/),
and any ``token``, ``key`` or
``code`` query parameter, are masked in gunicorn's access log (``config/gunicorn.py``) and in
runserver's request log. A test walks the URLconf: a new path with a token in it fails until
it is listed here."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

S = "(?:/|%2F)"  # a slash, or one escaped inside a ?next= parameter
S2 = "(?:/|%2F|%252F)+"  # one or more slashes, escaped once or twice
# The one list of URLs that carry a secret. Each pattern's groups are kept, the rest masked.
SECRET_URLS = (
    # /invite/<token>/ (but not /invite/accept/, the form the token was swapped for)
    re.compile(rf"({S}invite{S})(?!accept{S})[^/%?&#\s\"]+", re.IGNORECASE),
    # Django's reset link: /accounts/reset/<uidb64>/<token>/ (its set-password/ step is safe)
    re.compile(
        rf"({S}accounts{S}reset{S})(?!done{S})[^/%?&#\s\"]+{S}(?!set-password{S})[^/%?&#\s\"]+",
        re.IGNORECASE,
    ),
    # /sso/setup/<token>/ (but not /sso/setup/<connection uuid>/, the pages it opened): in
    # any spelling Django still routes (escaped or doubly escaped slashes, //, /./).
    re.compile(
        rf"(sso(?:{S2}|/\.)+setup{S2})(?![0-9a-f]{{8}}-(?:[0-9a-f]{{4}}-){{3}}[0-9a-f]{{12}}(?:{S2}|$))"
        r"[^/?&#\s\"]+",
        re.IGNORECASE,
    ),
    # Secrets in a query string, wherever they appear.
    re.compile(r"((?:^|[?&])(?:token|key|code|secret)=)[^&#\s\"]+", re.IGNORECASE),
)
MASK = r"\1[token]"


def mask(text: str) -> str:
    for pattern in SECRET_URLS:
        text = pattern.sub(MASK, text)
    return text


class MaskedGunicornLogger(Logger):
    """gunicorn's logger, with the request line, path, query and referrer masked."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask(atoms[key])
        return atoms


class MaskSecretLinks(logging.Filter):
    """For Django's own request loggers (runserver's "django.server", "django.request")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in args)
        return True
