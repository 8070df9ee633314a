"""Django settings for Fluxweb.

Every value that varies between machines comes from an environment variable, read
once here through the helpers in `fluxweb/env.py` (a bad value stops start-up with an
ImproperlyConfigured error naming the variable). Defaults give the embedded shape:
SQLite, a SQLite-backed Huey queue and an in-memory channel layer. Setting
DATABASE_URL to PostgreSQL and REDIS_URL gives the scaled shape. README.md lists the
variables.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from executions.core.conf import DEFAULTS as APP_DEFAULTS
from fluxweb.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    redis_with_timeouts,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Shape --------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url("DATABASE_URL", DATABASE_URL)}
else:
    DATABASES = {"default": sqlite_database(BASE_DIR / "db.sqlite3")}
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} is not a Redis URL: use redis://HOST:PORT/DB."
    )

# --- Secrets and hosts --------------------------------------------------------------

_DEV_SECRET_KEY = "django-insecure-fluxweb-development-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DATABASE_URL points at PostgreSQL (the scaled "
            "shape): set it to a long random string, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = _DEV_SECRET_KEY

# The key that encrypts stored secrets (executions/core/secrets_store.py); comma-separated
# to rotate (the first encrypts, all decrypt). Derived from SECRET_KEY when unset in
# the embedded shape (or with DEBUG); required in the scaled shape.
FLUX_SECRETS_KEY = env_str("FLUX_SECRETS_KEY") or ""
if not FLUX_SECRETS_KEY and not (DEBUG or EMBEDDED):
    raise ImproperlyConfigured(
        "FLUX_SECRETS_KEY is required when DATABASE_URL points at PostgreSQL (the scaled "
        "shape): it encrypts the secrets stored for tasks. Set it to a long random string "
        "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and keep it: "
        "secrets stored under a lost key cannot be read."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS --------------------------------------------------------------------------
# On by default in the scaled shape without DEBUG (a real deployment, behind TLS), off
# in the embedded shape, which serves plain http on 127.0.0.1. SECURE_COOKIES and
# SECURE_SSL_REDIRECT override either way; TRUST_X_FORWARDED_PROTO=1 behind a proxy
# that terminates TLS and sets X-Forwarded-Proto.

_HTTPS_DEFAULT = not (DEBUG or EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS_DEFAULT)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", _HTTPS_DEFAULT)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if SECURE_SSL_REDIRECT else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's own middleware): scripts, styles, images and
# connections (fetch, websockets) only from this site; no inline or injected
# scripts, no <style> blocks. Inline style *attributes* stay allowed: pages set
# widths and offsets with them (progress bars, timelines) and so do the React
# islands. Pages keep to it: no inline event handlers (tests/security/test_csp.py
# checks the pages and the graph editor in Chromium).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SILENCED_SYSTEM_CHECKS = [
    # HSTS for subdomains and preloading bind every subdomain of the operator's
    # domain to HTTPS for a year; only the operator can decide that, through
    # SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_HSTS_PRELOAD.
    "security.W005",
    "security.W021",
]

# --- Applications -------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "huey.contrib.djhuey",
    "ninja",  # serves Swagger UI from its own static files, not a CDN
    "fluxweb",
    "executions",
    "graphs",
]

MIDDLEWARE = [
    "fluxweb.middleware.ApiErrorsAsJson",
    "fluxweb.middleware.ServiceUnavailable",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "fluxweb.middleware.RefuseUnstorableText",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "fluxweb.urls"
ASGI_APPLICATION = "fluxweb.asgi.application"

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
                "executions.inbox.context.inbox",  # the nav's inbox count
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------
# WhiteNoise serves static/ (with the front-end bundle built into static/dist) under
# daphne, DEBUG or not. It finds files through the staticfiles finders, so no
# collectstatic is needed; `manage.py collectstatic` fills STATIC_ROOT with compressed
# copies for deployments that want them.

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# STATIC_ROOT exists only after collectstatic; serving from the finders makes its
# absence normal, so WhiteNoise's warning about it is noise.
warnings.filterwarnings("ignore", message=f"No directory at: {re.escape(str(STATIC_ROOT))}")

# --- Queue (Huey) and channel layer -------------------------------------------------

if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "fluxweb",
        # Connect and read timeouts (fluxweb/env.py): a Redis that stops answering
        # fails a request (503 queue_unavailable) instead of hanging it.
        "url": redis_with_timeouts(REDIS_URL),
        "immediate": False,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    _db_name = str(DATABASES["default"]["NAME"])
    _queue_dir = BASE_DIR if not EMBEDDED or _db_name == ":memory:" else Path(_db_name).parent
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "fluxweb",
        "filename": str(_queue_dir / "huey.db"),
        "immediate": False,
        # Huey's default polling backs off to 10 s when idle; a short ceiling keeps
        # the pick-up latency of a new run under a tenth of a second (an idle poll
        # is one read of a small SQLite file).
        "consumer": {
            "workers": 2,
            "worker_type": "thread",
            "initial_delay": 0.02,
            "backoff": 1.15,
            "max_delay": 0.1,
        },
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- The engine ---------------------------------------------------------------------

FLUX_HOME = Path(env_str("FLUX_HOME") or BASE_DIR / ".flux")
FLUX_WORKFLOW_MODULES = env_list("FLUX_WORKFLOW_MODULES", [])
# The demo workflows (executions/demo.py): on by default in the embedded shape.
FLUX_DEMO = env_bool("FLUX_DEMO", EMBEDDED)
if FLUX_DEMO and "executions.demo" not in FLUX_WORKFLOW_MODULES:
    FLUX_WORKFLOW_MODULES.append("executions.demo")
FLUX_LEASE_SECONDS = env_int("FLUX_LEASE_SECONDS", int(APP_DEFAULTS.lease_seconds), minimum=1)
# The reaper re-sends the queue message of a queued execution nobody picked up for
# this long (a message lost with Redis, or a backlog: duplicates are harmless).
FLUX_REQUEUE_SECONDS = env_int("FLUX_REQUEUE_SECONDS", int(APP_DEFAULTS.requeue_seconds),
                               minimum=1)
# The largest input (a workflow's, or a pause's answer) the API accepts, as JSON
# bytes; bigger ones get 413. Request bodies are capped by DATA_UPLOAD_MAX_MEMORY_SIZE.
FLUX_MAX_INPUT_BYTES = env_int("FLUX_MAX_INPUT_BYTES", APP_DEFAULTS.max_input_bytes, minimum=1)
# An event sent when no execution waits for it is kept this long for a later wait.
FLUX_EVENT_KEEP_SECONDS = env_int("FLUX_EVENT_KEEP_SECONDS",
                                  int(APP_DEFAULTS.event_keep_seconds), minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
FLUX = {
    "lease_seconds": FLUX_LEASE_SECONDS,
    # Durable sleeps longer than this end the run; a timer wakes the execution.
    "suspend_sleeps_after": APP_DEFAULTS.suspend_sleeps_after,
    "recover_on_worker_loss": True,
    "max_recovery_attempts": 3,
}

# Email (approval reminders and escalations, see docs/inbox.md). EMAIL_BACKEND names a
# Django mail backend: the console in the embedded shape and with DEBUG, else SMTP
# (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
_email_backend = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if EMBEDDED or DEBUG
    else "django.core.mail.backends.smtp.EmailBackend")
_email_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env_str("EMAIL_HOST") or "localhost",
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER") or "",
        "password": env_str("EMAIL_HOST_PASSWORD") or "",
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "fluxweb@localhost"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
