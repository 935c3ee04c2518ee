"""Settings, read from the environment.

Defaults give the embedded product: SQLite in ``VORGANG_DATA_DIR`` (``./var``),
files beside it, tasks in the database. ``DATABASE_URL`` switches to PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("VORGANG_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept in the data dir."""
    if key := os.environ.get("VORGANG_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        # O_EXCL: two processes starting at once must end up with the same key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("VORGANG_DEBUG", "") == "1"
_default_base_url = f"http://127.0.0.1:{os.environ.get('VORGANG_PORT', '8000')}"
BASE_URL = os.environ.get("VORGANG_BASE_URL", _default_base_url).rstrip("/")
ALLOWED_HOSTS = [h for h in os.environ.get("VORGANG_ALLOWED_HOSTS", "").split(",") if h] or ["*"]
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "vorgang.core",
    "vorgang.accounts",
    "vorgang.tickets",
    "vorgang.attributes",
    "vorgang.channels",
    "vorgang.catalogue",
    "vorgang.portal",
    "vorgang.desk",
    "vorgang.macros",
    "vorgang.api",
    "vorgang.notifications",
    "vorgang.search",
    "vorgang.webhooks",
    "vorgang.presence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vorgang.core.middleware.TenantPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "vorgang.core.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "vorgang.conf.urls"
WSGI_APPLICATION = "vorgang.conf.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "vorgang.core.sqlite",  # Django's, waiting for the write lock better
            "NAME": str(DATA_DIR / "vorgang.sqlite3"),
            # Keep connections open as on PostgreSQL: opening one (and its PRAGMAs) costs
            # about 3 ms of CPU, which the task worker paid for every task it ran.
            "CONN_MAX_AGE": 60,
            # Web, worker and mail intake write at once: take the write lock when a
            # transaction starts, wait for it, and keep commits cheap but durable (WAL).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:overview"
LOGOUT_REDIRECT_URL = "desk:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = os.environ.get("VORGANG_LANGUAGE", "de")
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("VORGANG_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# KERN UX, htmx and Swagger UI, copied there from node_modules by `make install`.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "vorgang.core.storage.DurableFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files without collectstatic in development and the embedded default.
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {
        "BACKEND": os.environ.get("VORGANG_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

_email_url = os.environ.get("VORGANG_EMAIL_URL", "")
if _email_url:
    from urllib.parse import unquote, urlsplit

    _u = urlsplit(_email_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _u.hostname or "127.0.0.1"
    EMAIL_PORT = _u.port or (465 if _u.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_u.username or "")
    EMAIL_HOST_PASSWORD = unquote(_u.password or "")
    EMAIL_USE_SSL = _u.scheme == "smtps"
    EMAIL_USE_TLS = _u.scheme == "smtp+tls"
else:
    # No relay configured: keep outgoing mail as files, nothing leaves the machine.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
DEFAULT_FROM_EMAIL = os.environ.get("VORGANG_FROM_EMAIL", "vorgang@localhost")

# Mail intake: the largest message accepted (bytes), the name in the greeting,
# and the tag that marks a case number in subjects ("[Vorgang#10001]").
VORGANG_MAIL_MAX_BYTES = int(os.environ.get("VORGANG_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))
VORGANG_MAIL_HOSTNAME = os.environ.get("VORGANG_MAIL_HOSTNAME", "localhost")
VORGANG_SUBJECT_TAG = os.environ.get("VORGANG_SUBJECT_TAG", "Vorgang")
# Online-service submissions: the most all files of one submission may hold.
VORGANG_SUBMISSION_MAX_BYTES = int(
    os.environ.get("VORGANG_SUBMISSION_MAX_BYTES", str(50 * 1024 * 1024))
)
# Loop guard: the X-Loop value of our own mail; automatic mails per address and hour,
# and per case and day.
VORGANG_X_LOOP = os.environ.get("VORGANG_X_LOOP", "Vorgang")
VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = int(os.environ.get("VORGANG_AUTO_REPLY_LIMIT_PER_HOUR", "10"))
VORGANG_AUTO_REPLY_LIMIT_PER_CASE = int(os.environ.get("VORGANG_AUTO_REPLY_LIMIT_PER_CASE", "3"))

# Outgoing mail: seconds before each new attempt when the relay fails (1, 5, 15, 60,
# 240 minutes: six attempts in all), and how long to wait for the relay.
VORGANG_MAIL_RETRY_DELAYS = [
    int(v)
    for v in os.environ.get("VORGANG_MAIL_RETRY_DELAYS", "60,300,900,3600,14400").split(",")
    if v.strip()
]
EMAIL_TIMEOUT = int(os.environ.get("VORGANG_EMAIL_TIMEOUT", "60"))

# Webhooks: attempts per delivery in all (retried with exponential backoff from 30 s,
# at most an hour apart) and seconds to wait for a receiver's answer.
VORGANG_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("VORGANG_WEBHOOK_MAX_ATTEMPTS", "8"))
VORGANG_WEBHOOK_TIMEOUT = float(os.environ.get("VORGANG_WEBHOOK_TIMEOUT", "10"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Ticket numbers: "increment" (prefix + counter) or "date" (YYYYMMDD + daily counter).
TICKET_NUMBER_GENERATOR = os.environ.get("VORGANG_TICKET_NUMBER", "increment")
TICKET_NUMBER_PREFIX = os.environ.get("VORGANG_TICKET_PREFIX", "")
TICKET_NUMBER_START = int(os.environ.get("VORGANG_TICKET_NUMBER_START", "10001"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VORGANG_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # aiosmtpd logs every MAIL FROM / RCPT TO address at INFO: citizen addresses.
        "mail.log": {"level": "WARNING"},
    },
}
