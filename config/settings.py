"""Tenantry settings: one module, every deployment difference comes from the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# pytest imports itself before it imports these settings; nothing else in production does.
TESTING = "pytest" in sys.modules

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-never-use-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Links in emails are built from SITE_URL, never from the Host header, so a forged Host
# cannot plant a phishing domain in an invitation.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
INVITE_TTL_DAYS = env.int("INVITE_TTL_DAYS", default=7)
CUSTOMER_RETENTION_DAYS = env.int("CUSTOMER_RETENTION_DAYS", default=30)
# How many reverse proxies append to X-Forwarded-For in front of us; 0 = use REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Background work (webhook deliveries) through Django's task framework: the database backend
# needs no broker; `make run` starts `manage.py db_worker` beside the server.
TASKS = {
    "default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}
}
# A connected account nothing used for this many days is "idle" (customers/health/rules.py).
CONNECTION_IDLE_DAYS = env.int("CONNECTION_IDLE_DAYS", default=30)
# Webhooks: private, loopback and link-local destinations are refused unless DEBUG or this.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=DEBUG)
# The audit trail's chain key (audit.trail.chain): separate from SECRET_KEY, required in production.
# Rotate by moving the old key to AUDIT_CHAIN_OLD_KEYS; entries name the key that signed them.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
AUDIT_CHAIN_DEV_KEY = "insecure-development-audit-chain-key"
if not AUDIT_CHAIN_KEY:
    if DEBUG or TESTING:
        AUDIT_CHAIN_KEY = AUDIT_CHAIN_DEV_KEY
    else:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY must be set when DEBUG is off.")
AUDIT_CHAIN_OLD_KEYS = env.list("AUDIT_CHAIN_OLD_KEYS", default=[])
# Signed checkpoints of every chain, appended outside the database (audit.checkpoints).
AUDIT_CHECKPOINT_DIR = env.path("AUDIT_CHECKPOINT_DIR", default=VAR_DIR / "audit-checkpoints")
# Where audit_archive writes the entries an organization's retention period let go.
AUDIT_ARCHIVE_DIR = env.path("AUDIT_ARCHIVE_DIR", default=VAR_DIR / "audit-archive")
# Log streams (SIEM export): JSON Lines files go under this folder, one per organization;
# private, loopback and link-local destinations are refused unless DEBUG or this.
AUDIT_STREAM_FILE_DIR = env.path("AUDIT_STREAM_FILE_DIR", default=VAR_DIR / "audit-streams")
AUDIT_STREAM_ALLOW_PRIVATE = env.bool("AUDIT_STREAM_ALLOW_PRIVATE", default=DEBUG)
# A customer's identity provider (its discovery, keys and token endpoint) must be public and
# HTTPS, unless this is on (development, and the tests' provider on loopback).
SSO_ALLOW_PRIVATE = env.bool("SSO_ALLOW_PRIVATE", default=DEBUG)
# SAML signatures are checked by this xmlsec1 (Debian's package), which pysaml2 runs.
SAML_XMLSEC_BINARY = env.str("SAML_XMLSEC_BINARY", default="/usr/bin/xmlsec1")
# Webhook signing secrets are kept encrypted under this key (default: derived from SECRET_KEY).
WEBHOOK_SECRETS_KEY = env.str("WEBHOOK_SECRETS_KEY", default="")
# Domain verification asks these DNS servers ("host" or "host:port"; empty: the system's).
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=3.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "template_partials",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "customers",
    "billing",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.trail.middleware.RequestContextMiddleware",
    # The browser's middleware (config/browser_middleware.py): JSON API requests skip it.
    "config.browser_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.browser_middleware.AuthenticationMiddleware",
    "config.browser_middleware.OTPMiddleware",
    "config.browser_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.browser_middleware.CSPMiddleware",
    "config.browser_middleware.HtmxMiddleware",
    "config.browser_middleware.CurrentOrganizationMiddleware",
    "config.input_guard.QueryStringGuardMiddleware",
    "config.browser_middleware.HtmxMessagesMiddleware",
    "config.browser_middleware.HtmxRedirectMiddleware",
    "config.browser_middleware.VaryOnHtmxMiddleware",
    # Axes must come last so it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# The worker's recurring job; `manage.py housekeeping` runs or queues it by this name.
HOUSEKEEPING_TASK = "config.worker.housekeeping"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.csp_nonce",
                "customers.identity.context_processors.tenancy",
            ],
        },
    },
]

# Form widgets through Jinja2 (Django's own templates for it), the rest of each page through
# Django's template language: config/forms.py says why, docs/performance.md gives the figures.
FORM_RENDERER = "config.forms.WidgetRenderer"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tenantry.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool replaces persistent connections (CONN_MAX_AGE must stay 0 with it).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when the transaction starts, so two writers queue
    # instead of one failing with "database is locked" halfway through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

# The role that owns the tables (runs migrations) when the app connects as a restricted role:
# only the audit maintenance path uses it (audit.maintenance; docs/audit-trail.md).
DATABASE_OWNER = (
    env.db_url_config(env.str("DATABASE_OWNER_URL")) if env.str("DATABASE_OWNER_URL", "") else None
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "customers.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling. Locks are keyed on the client address (alone, and with the account), never
# on the account alone: failing logins for someone else's email from your own address locks
# out only your address, not the person who owns the account.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "customers.platform.net.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The console speaks English only: without translation machinery, every choice label and
# form message skips a gettext lookup (hundreds a page; make bench PROFILE=… shows them).
USE_I18N = False
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tenantry <no-reply@tenantry.local>")

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Security: with DEBUG off every deploy check passes; local HTTP development turns these off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}

NINJA_PAGINATION_PER_PAGE = 50

# TOTP devices (forced 2FA in the portal) show this issuer in authenticator apps.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Tenantry")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secret_links": {"()": "config.log_masking.MaskSecretLinks"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_secret_links"]},
        # runserver's request log, with its colours, minus live secret links.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_secret_links"],
        },
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # pysaml2 logs each response's subject at INFO (and its refusals at ERROR, which are
        # the refusals Tenantry reports in words): emails are not for the log.
        "saml2": {"level": "CRITICAL"},
        "xmlschema": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # Django's own default sends its errors ("Internal Server Error: /invite/…") to an
        # unfiltered handler; ours masks secret links there too.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tasks run when enqueued (after the commit); one test runs the real database worker.
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    SECURE_SSL_REDIRECT = False
    # Browser tests talk plain HTTP to the live server.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
    # Serve static files straight from the app folders; no collectstatic before tests.
    WHITENOISE_AUTOREFRESH = True
    WHITENOISE_USE_FINDERS = True
