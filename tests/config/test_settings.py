"""Settings come from the environment; production settings pass every deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 30 + "production-secret-key-with-enough-entropy-9f8e7d",
    "AUDIT_CHAIN_KEY": "y" * 30 + "production-audit-chain-key-4c3b2a",
    "ALLOWED_HOSTS": "tenantry.example.com",
    "SITE_URL": "https://tenantry.example.com",
}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "AUDIT_CHAIN_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_defaults():
    assert settings.INVITE_TTL_DAYS == 7
    assert settings.CUSTOMER_RETENTION_DAYS == 30
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert settings.AUTH_USER_MODEL == "customers.User"


def test_the_database_is_configured_for_its_engine():
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "postgresql":
        assert "pool" in options
    else:
        assert options["transaction_mode"] == "IMMEDIATE"


def test_production_hashes_passwords_with_argon2_first():
    code = "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    result = _run(
        "-c",
        f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
        f"django.setup(); {code}",
        env=PRODUCTION_ENV,
    )
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher", (
        result.stderr
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _run("manage.py", "check", env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_audit_chain_key_is_required_when_debug_is_off():
    result = _run("manage.py", "check", env={**PRODUCTION_ENV, "AUDIT_CHAIN_KEY": ""})
    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY must be set" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("short", "at least 32 characters"),
        (PRODUCTION_ENV["SECRET_KEY"], "must not be SECRET_KEY"),
        (settings.AUDIT_CHAIN_DEV_KEY + "-" * 10, "development key"),
    ],
)
def test_check_deploy_refuses_a_weak_audit_chain_key(key, problem):
    env = {**PRODUCTION_ENV, "AUDIT_CHAIN_KEY": key}
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert problem in result.stderr + result.stdout


@pytest.mark.slow
def test_check_deploy_prints_no_warning():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_sqlite_is_the_default_database():
    result = _run(
        "-c",
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
        "os.environ.pop('DATABASE_URL', None); django.setup();"
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'])",
        env={**PRODUCTION_ENV, "DATABASE_URL": ""},
    )
    assert "sqlite3" in result.stdout, result.stderr
    assert "var/tenantry.sqlite3" in result.stdout


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    """A label or option changed without its migration passes every other test (the test
    database is built from the models' migrations as they are): caught here, not only in CI."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")
