"""Settings, read from the environment (see README "Configuration").

DJANGO_ENV picks one of three modes:

- ``development`` (the default; ``make dev``, the tests): DEBUG on, a fixed development key,
  SQLite in var/ and a Celery broker on the filesystem, no configuration needed;
- ``local`` (``make run``): the product on one machine as a small shop runs it, served by gunicorn
  with DEBUG off and WhiteNoise serving the collected static files; the secret key is generated
  once into var/ and reused; still no configuration needed;
- ``production``: refuses to start without SECRET_KEY and ALLOWED_HOSTS; secure cookies, HSTS and
  an SSL redirect.
"""

import os
import secrets
import time
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key(path: Path) -> str:
    """The key of a `make run` installation: made on its first start, then read by every process.

    Kept (so that sessions survive a restart) in var/, which git ignores, readable by its owner only.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _attempt in range(50):  # another process may be between creating and writing it
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ImproperlyConfigured(f"{path} is empty; delete it and start again.") from None
    key = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "local", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV is {DJANGO_ENV!r}; use development, local or production.")
PRODUCTION = DJANGO_ENV == "production"
LOCAL = DJANGO_ENV == "local"
DEBUG = envbool("DJANGO_DEBUG", default=DJANGO_ENV == "development")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS")
if PRODUCTION:
    if not SECRET_KEY or not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ENV=production needs SECRET_KEY and ALLOWED_HOSTS to be set.")
elif LOCAL:
    SECRET_KEY = SECRET_KEY or local_secret_key(VAR_DIR / "secret_key")
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
else:
    SECRET_KEY = SECRET_KEY or "dev-insecure-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Index expressions with an operator class (the trigram indexes of the searches); harmless on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "retention_crm",
    "customers",
    "segmentation",
    "contact_plans",
    "loyalty",
    "surveys",
    "team",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "retention_crm.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "retention_crm.login_guard.LockoutStatusMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "retention_crm.urls"
WSGI_APPLICATION = "retention_crm.wsgi.application"

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
                "django.template.context_processors.i18n",
                "customers.context_processors.roles",
                "team.context_processors.one_to_ones",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite by default; DATABASE_URL (postgres://user@host:5432/name) selects PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'retention_crm.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Django's SQLite, leaving out the indexes only PostgreSQL has (retention_crm/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "retention_crm.sqlite3"
    # The web server and the worker write to one file: wait for each other's locks instead of
    # failing, and use WAL so readers never block the writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Languages --------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Bahasa Indonesia")), ("ms", _("Bahasa Melayu")), ("ca", _("Català"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Which English the pages format dates and numbers in (retention_crm/formats.py, Babel's CLDR data):
# en_GB (24 Jan 2026, 17:11) by default; en_US (Jan 24, 2026, 5:11 PM) for an American workspace.
FORMAT_LOCALE_EN = os.environ.get("FORMAT_LOCALE_EN", "en_GB")

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cached for good by browsers) need `collectstatic`, which the Dockerfile
        # and `make run` do; development and the tests serve the files from where they are.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION or LOCAL
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded import files: personal data, so never under MEDIA_ROOT or any other URL. The web
# server writes them and the worker reads them: one folder both see (a shared volume in Docker).
IMPORT_UPLOAD_DIR = Path(os.environ.get("IMPORT_UPLOAD_DIR", VAR_DIR / "uploads"))
# An upload is deleted when its import ends. One whose import never ends (the worker was down, or
# died mid-import) is deleted by an hourly task after this many hours: long enough for a worker to
# be brought back the same day, short enough that personal data does not linger.
IMPORT_UPLOAD_RETENTION_HOURS = envint("IMPORT_UPLOAD_RETENTION_HOURS", 24)

# A running import or recompute touches its heartbeat every 30 s (retention_crm.heartbeat); one
# silent for this many minutes lost its worker (killed, out of memory, a redeploy) and is marked
# failed ("Interrupted: the worker stopped ..."), freeing its place so that a new one can start.
# Twenty missed beats: a paused worker or a database failover is not taken for a death.
JOB_HEARTBEAT_TIMEOUT_MINUTES = envint("JOB_HEARTBEAT_TIMEOUT_MINUTES", 10)

# Uploads above this size are refused with a message (imports of larger files go through
# the command line or the API in parts). 50 MB covers a year of a mid-size shop's orders.
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# What a gzip file may expand to while it is read: ten times the upload limit, what 50 MB of
# ordinary compressed CSV holds. A bigger file is refused before the worker runs out of memory.
IMPORT_MAX_DECOMPRESSED_BYTES = envint("IMPORT_MAX_DECOMPRESSED_BYTES", 500 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and envbool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Sent on every response (retention_crm/csp.py). Everything from this origin; scripts from static
# files only (no inline script or on* handler anywhere: a test renders the pages to check);
# `data:` images for Bootstrap's and Swagger UI's inline SVG icons.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SILENCED_SYSTEM_CHECKS = envlist("SILENCED_SYSTEM_CHECKS")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The list indexes carry extra columns for PostgreSQL's index-only scans (INCLUDE); SQLite builds
    # them without, which is all it needs. Its warning on every migrate reads like a broken install.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
    # One live job per book-performance range is a unique constraint with NULLs not distinct, which
    # SQLite cannot state; without it two simultaneous first requests for one range may compute it
    # twice (same figures). PostgreSQL, as in production, keeps the constraint.
    SILENCED_SYSTEM_CHECKS.append("models.W047")

# How many reverse proxies (load balancer, TLS terminator) stand in front of the app. Each appends
# the address it received a request from to X-Forwarded-For; the client's address is the entry
# that many places from the right. 0 (no proxy): REMOTE_ADDR, and X-Forwarded-For is ignored, as a
# client could write anything there. Too high a number lets clients choose their address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

# Password guessing, on the login page, the admin and the API token endpoint alike
# (retention_crm/login_guard.py). Five tries cover a mistyped password and a caps-lock; twenty from
# one address leave room for an office behind one NAT. A lockout lasts LOGIN_LOCKOUT_MINUTES, and
# failures are forgotten that long after the latest one.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15)
AUTHENTICATION_BACKENDS = [
    "retention_crm.login_guard.LoginGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Cache ------------------------------------------------------------------------------------
# Login failure counts and API rate limits must add up across every process (gunicorn workers,
# several servers), so the cache is shared: Redis when configured, else a database table (created
# by `migrate`). On SQLite a throttled API request therefore writes; it waits, as every write
# does, while an import holds the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crm",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "retention_crm_cache",
            # Past this many rows the table is trimmed (expired rows, then a third of the rest);
            # high enough that nobody pushes a lockout out by filling the cache with keys of their own.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Celery ---------------------------------------------------------------------------------
# The filesystem transport ignores the host; naming one keeps kombu from warning "No hostname was
# supplied", which reads like a broken broker on a first `make run`.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.rstrip("/") == "filesystem:":
    # The same broker, said without the warning. Celery reads CELERY_BROKER_URL from the
    # environment before the settings, so the environment gets the host too.
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
if REDIS_URL:
    # One cache for every process (web, worker): the dashboard's segment figures a worker computes
    # after a recompute, and the API's rate limits, counted across the web processes.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# On a cold shutdown (SIGQUIT: how `make run` stops its worker on Ctrl-C), a running task gets this
# many seconds to finish before it is cancelled and goes back to the queue (acks_late). A warm
# shutdown (SIGTERM, as Docker stops a container) still waits for the task to finish.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(os.environ.get("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 3))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The DatabaseScheduler copies these into its tables at start. 02:30 is after the day's orders and
# before anyone opens a dashboard; it also avoids the 01:00-02:00 hour that DST skips or repeats.
CELERY_BEAT_SCHEDULE = {
    "metrics-nightly-recompute": {
        "task": "metrics.tasks.metrics_nightly_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "customers-import-uploads-purge": {
        "task": "customers.tasks.import_uploads_purge_task",
        "schedule": crontab(minute=15),
    },
    # Points expire at 03:30, after the recompute; the balance check at 04:00 sees the expiries.
    "loyalty-points-expire": {
        "task": "loyalty.tasks.points_expire_task",
        "schedule": crontab(hour=3, minute=30),
    },
    "loyalty-tiers-refresh": {
        "task": "loyalty.tasks.member_tiers_refresh_task",
        "schedule": crontab(hour=3, minute=45),
    },
    "loyalty-points-expiry-remind": {
        "task": "loyalty.tasks.points_expiry_remind_task",
        "schedule": crontab(hour=9, minute=0),
    },
    "loyalty-balances-check": {
        "task": "loyalty.tasks.loyalty_balances_check_task",
        "schedule": crontab(hour=4, minute=0),
    },
    # Birthday bonuses early in the day (before the balance check), referral rewards after them.
    "loyalty-birthday-bonus": {
        "task": "loyalty.tasks.birthday_bonus_task",
        "schedule": crontab(hour=3, minute=50),
    },
    "loyalty-referrals-reward": {
        "task": "loyalty.tasks.referrals_reward_task",
        "schedule": crontab(hour=3, minute=55),
    },
    # Surveys: recurring sends and after-purchase invitations that are due, and the reminders.
    "surveys-send-due": {
        "task": "surveys.tasks.surveys_send_due_task",
        "schedule": crontab(minute=5),
    },
    # The closed loop of the answers recorded since (timeline, detractor's follow-up, survey.answered):
    # the answer page only marks them pending, so a detractor's task appears within a minute.
    "surveys-answers-process": {
        "task": "surveys.tasks.survey_answers_process_task",
        "schedule": crontab(minute="*"),
    },
    "surveys-reminders": {
        "task": "surveys.tasks.reminders_send_task",
        "schedule": crontab(minute=35),
    },
    # The leads of overdue one-to-ones get one reminder email each, at the start of the working day.
    "contact-plans-one-to-one-reminders": {
        "task": "contact_plans.tasks.one_to_one_reminders_task",
        "schedule": crontab(hour=8, minute=0),
    },
    # Account managers get one email listing their tasks (follow-ups) overdue since the last one.
    "contact-plans-followup-reminders": {
        "task": "contact_plans.tasks.followup_reminders_task",
        "schedule": crontab(hour=8, minute=5),
    },
    # Hands due messages to the workers; every 10 s is how late a message due now may leave.
    "contact-plans-messages-dispatch": {
        "task": "contact_plans.tasks.messages_dispatch_task",
        "schedule": float(envint("MESSAGING_DISPATCH_EVERY_SECONDS", 10)),
    },
    # Starts the campaigns whose first recipients' local send time is near (docs/campaigns.md).
    "contact-plans-campaigns-start": {
        "task": "contact_plans.campaigns.tasks.campaigns_start_due_task",
        "schedule": crontab(minute="*"),
    },
    # Contact plans (docs/contact-plans.md): triggers enrol every 5 minutes (one statement per plan);
    # due steps go out every minute, in chunks the workers share.
    "contact-plans-triggers": {
        "task": "contact_plans.plans.tasks.plans_triggers_dispatch_task",
        "schedule": crontab(minute="*/5"),
    },
    "contact-plans-steps": {
        "task": "contact_plans.plans.tasks.plans_steps_dispatch_task",
        "schedule": crontab(minute="*"),
    },
    # Every retention_crm.heartbeat.REAP_EVERY_MINUTES (5): jobs whose worker died are marked failed.
    "customers-import-jobs-reap": {
        "task": "customers.tasks.import_jobs_reap_task",
        "schedule": crontab(minute="*/5"),
    },
    "metrics-recompute-runs-reap": {
        "task": "metrics.tasks.recompute_runs_reap_task",
        "schedule": crontab(minute="*/5"),
    },
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "retention_crm.api.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "retention_crm.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "retention_crm.throttling.AnonRateThrottle",
        "retention_crm.throttling.UserRateThrottle",
    ],
    # DRF's own reading of the client address (used by any throttle not ours) follows the same rule.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "6000/minute"),
    },
    # The API reads JSON (the import's upload alone is multipart: customers.api.imports), so the
    # schema offers no form encodings that nested fields (an order's lines) could not travel in.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "retention_crm.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Retention CRM API",
    "DESCRIPTION": "Customers, orders, interactions, imports, segments and metrics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from the drf-spectacular-sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `kind` or `status`; name each enum after its model.
    # Every operation documents the API's error responses (retention_crm.api.schema_error_responses).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "retention_crm.api.schema_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderKindEnum": "customers.models.Order.Kind",
        "OrderStatusEnum": "customers.models.Order.Status",
        "InteractionKindEnum": "customers.models.Interaction.Kind",
        "InteractionChannelEnum": "customers.models.Interaction.Channel",
        "CaseStatusEnum": "customers.models.Interaction.Status",
        "CasePendingStatusEnum": "customers.models.CASE_PENDING_STATUS_CHOICES",
        "ImportJobStatusEnum": "customers.models.ImportJob.Status",
        # A job's status: a recompute's and a book-performance range's (the same choices).
        "JobStatusEnum": "metrics.models.BookRange.Status",
        "MessageChannelEnum": "contact_plans.models.MessageTemplate.Channel",
        "LanguageEnum": "retention_crm.settings.LANGUAGES",
        "CampaignKindEnum": "contact_plans.models.Campaign.Kind",
        "CampaignRecurrenceEnum": "contact_plans.models.Campaign.Recurrence",
        "PlanTriggerEnum": "contact_plans.models.ContactPlan.Trigger",
        "SurveyTriggerEnum": "surveys.models.Trigger",
        "SurveyRecurrenceEnum": "surveys.models.Recurrence",
        "EnrolmentStateEnum": "contact_plans.models.Enrolment.State",
        "PlanStepKindEnum": "contact_plans.models.PlanStep.Kind",
        "TaskKindEnum": "contact_plans.models.FollowUp.Kind",
        "TaskOutcomeEnum": "contact_plans.models.FollowUp.Outcome",
        "PlanPurposeEnum": "contact_plans.models.ContactPlan.Purpose",
        "MessagePurposeEnum": "contact_plans.models.MessageTemplate.Purpose",
        "FollowUpStateEnum": "contact_plans.models.FollowUp.State",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ------------------------------------------------------------------------------------
# Production sends through SMTP (EMAIL_HOST...); development and `make run` keep every message in
# the local outbox, which administrators open at /messaging/outbox/ (docs/messaging.md).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "contact_plans.messaging.channels.local.LocalOutboxEmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
# Seconds an SMTP conversation may stall before the batch gives up (the message is retried later).
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "crm@example.com")

# --- Messaging (contact_plans/messaging; docs/messaging.md) ---------------------------------
# The public address of the site, for the links in messages (unsubscribe, preference centre):
# in production https:// and the first of ALLOWED_HOSTS unless set; `make run` and `make dev` serve
# on PORT (scripts/run.sh), which the worker sees too.
PUBLIC_BASE_URL = os.environ.get(
    "PUBLIC_BASE_URL",
    f"https://{ALLOWED_HOSTS[0]}" if PRODUCTION else f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
).rstrip("/")
# The SMS backend: the local outbox by default; contact_plans.messaging.channels.sms.HttpSmsBackend
# posts to a Twilio-style REST API at SMS_HTTP_URL with SMS_ACCOUNT / SMS_TOKEN.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "contact_plans.messaging.channels.local.LocalOutboxSmsBackend")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_ACCOUNT = os.environ.get("SMS_ACCOUNT", "")
SMS_TOKEN = os.environ.get("SMS_TOKEN", "")
SMS_FROM = os.environ.get("SMS_FROM", "")
SMS_TIMEOUT = envint("SMS_TIMEOUT", 10)
# Three segments (459 GSM-7 characters, 201 in UCS-2) is what carriers deliver reliably joined up.
SMS_MAX_SEGMENTS = envint("SMS_MAX_SEGMENTS", 3)
# At most this many promotional messages per customer per rolling 7 days, every channel together.
MESSAGING_FREQUENCY_CAP = envint("MESSAGING_FREQUENCY_CAP", 3)
# Quiet hours in the customer's time zone: a promotional message (or any SMS) due in them waits.
MESSAGING_QUIET_START = envint("MESSAGING_QUIET_START", 21)
MESSAGING_QUIET_END = envint("MESSAGING_QUIET_END", 8)
# A worker holds a claimed batch this long. Long enough for a batch through a slow server
# (MESSAGING_BATCH_SIZE x a second); a killed worker's messages are due again after it.
MESSAGING_LEASE_SECONDS = envint("MESSAGING_LEASE_SECONDS", 600)
# Messages per task: big enough that a task's fixed costs (the broker, the claim, the rules' two
# queries) are paid rarely (100 -> 500 measured 296 -> 347 msg/s, docs/benchmarks.md), small
# enough that a backlog spreads over every worker; a batch's rows (prepared bytes, ~2 KB each) are
# about 1 MB of the worker's memory.
MESSAGING_BATCH_SIZE = envint("MESSAGING_BATCH_SIZE", 500)
# Temporary failures are retried after 1, 2, 4... minutes, this many attempts in all.
MESSAGING_MAX_ATTEMPTS = envint("MESSAGING_MAX_ATTEMPTS", 6)
MESSAGING_RETRY_BASE_SECONDS = envint("MESSAGING_RETRY_BASE_SECONDS", 60)
# Unsubscribe links stay valid this long (a customer may open a two-year-old email).
MESSAGING_TOKEN_MAX_AGE_DAYS = envint("MESSAGING_TOKEN_MAX_AGE_DAYS", 730)
# Links in emails go through the signed redirect /r/<token>/ that records the click (docs/campaigns.md);
# False switches it off everywhere (a template or a campaign can also switch it off for itself).
MESSAGING_TRACK_LINKS = envbool("MESSAGING_TRACK_LINKS", True)
# Tracked links keep working as long as the unsubscribe links do: an old newsletter is still opened.
MESSAGING_LINK_MAX_AGE_DAYS = envint("MESSAGING_LINK_MAX_AGE_DAYS", 730)
# A campaign's outbox messages are written by Celery tasks of this many recipients each: a chunk is one
# COPY and one INSERT ... SELECT (about 2 MB of rows), short enough that a killed worker loses little.
CAMPAIGN_CHUNK_SIZE = envint("CAMPAIGN_CHUNK_SIZE", 5000)
# Topics of the preference centre ("" is general news, always offered).
# Answers a minute from one client address on the public survey page (surveys.public_views): a
# person answers in a POST or two; an office behind one NAT stays well under it, a script does not.
SURVEYS_ANSWERS_PER_MINUTE = envint("SURVEYS_ANSWERS_PER_MINUTE", 20)
MESSAGING_TOPICS = [("offers", _("Offers and promotions")), ("news", _("News")), ("surveys", _("Surveys"))]
# Webhooks of the email provider (django-anymail) authenticate with this secret (basic auth); when
# it is not set, a random one refuses every call.
ANYMAIL = {"WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET") or secrets.token_urlsafe(32)}
for _name in ("POSTMARK_SERVER_TOKEN", "MAILGUN_API_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY", "SENDGRID_API_KEY"):
    if os.environ.get("ANYMAIL_" + _name):
        ANYMAIL[_name] = os.environ["ANYMAIL_" + _name]

# --- Product settings -----------------------------------------------------------------------
# Whether an account manager may see (not edit) customers outside their own book.
ACCOUNT_MANAGERS_SEE_ALL_BOOKS = envbool("ACCOUNT_MANAGERS_SEE_ALL_BOOKS", False)
WORKSPACE_CURRENCY = os.environ.get("WORKSPACE_CURRENCY", "GBP")
# The shop's page of a product for messages' recommended products, "{sku}" replaced by its SKU
# (metrics.conf PRODUCT_URL); empty: no link.
METRICS_PRODUCT_URL = os.environ.get("PRODUCT_URL", "")
# For this many days after a call or meeting, the customer's row on the worklist counts at half its
# urgency (contact_plans.worklist): two weeks is what a customer takes to answer a proposal, long
# enough not to be called twice about it, short enough that a silence comes back to the top.
WORKLIST_RECENT_CONTACT_DAYS = envint("WORKLIST_RECENT_CONTACT_DAYS", 14)
# What an email from a customer to the inbound address becomes (docs/complaints.md): complaint,
# support_ticket or review.
INBOUND_EMAIL_CASE_KIND = os.environ.get("INBOUND_EMAIL_CASE_KIND", "complaint")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
