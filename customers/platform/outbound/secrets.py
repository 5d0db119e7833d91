"""Outbound secrets (webhook signing secrets, log streams' tokens and keys): made here, shown
once, kept encrypted (Fernet, from the cryptography package) because signing and sending need
the secret itself, not a hash of it."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.WEBHOOK_SECRETS_KEY or settings.SECRET_KEY
    # A Fernet key is 32 bytes, url-safe base64: derived from the configured key.
    digest = hashlib.sha256(f"tenantry-webhook-secrets:{key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
