"""Settings shared by every environment, read from the environment with django-environ.

Unset `DATABASE_URL`: an SQLite file beside the code. Unset `CELERY_BROKER_URL`: tasks run in-process.
"""

import datetime
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Imports and credit runs write from one process; a generous timeout avoids "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
# A streaming replica of the primary (PostgreSQL's pg_basebackup -R), read only by the views marked as reading it:
# report pages, admin lists and exports (core.replica). Unset: one database.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    # Tests: the replica streams the whole primary cluster, so it holds the test database under the same name.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
# After a browser's write, its reads stay on the primary this long (the replica is usually milliseconds behind).
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "office.apps.OfficeAdminConfig",  # Django's admin, with the office's site and home page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "simple_history",
    "django_celery_beat",
    "axes",
    "core",
    "policies",
    "accounts",
    "claims",
    "reports",
    "clearing",
    "gateway",
    "whatif",
    "office",
]

MIDDLEWARE = [
    "core.api.ApiErrorsAsJsonMiddleware",  # first: every error under /api/ as {err_code, err_msg}
    # A plain partner settlement skips the office's middleware below and DRF's view machinery (issue 16).
    "claims.api.lean.PartnerSettlementMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "office.middleware.OfficeLocaleMiddleware",  # Chinese unless the user chose English (not the browser)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]
if "replica" in DATABASES:
    # Outside the session middleware: the session a login saves counts as the request's write.
    MIDDLEWARE.insert(1, "core.replica.ReplicaPinMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Staff read Chinese whatever their browser asks for; English is one click away (the admin's language switcher,
# office.middleware). The test settings say English so that the tests read the catalog's own strings.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

LOGIN_URL = "admin:login"

# Every browser session is a staff member's (partners use tokens): it ends with the browser, and after a working
# day at the latest.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins a username is locked, from any address,
# and so is an address, for any username, for AXES_COOLOFF_TIME; a successful login clears its own failures. Failed
# and locked attempts are listed in the admin (访问尝试), where deleting an attempt unlocks at once. The API's tokens
# and the gateway's credentials are not passwords: axes does not see them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "core.auth.client_ip"
# Proxies in front of the app that append to X-Forwarded-For (nginx in deploy/: 1); 0: REMOTE_ADDR is the client.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)

# `seed_demo` writes made-up enrollees, settlements and staff logins: refused where this is False (production)
# unless given --force.
DEMO_DATA_ALLOWED = True

# Partners settle service dates from today − SETTLEMENT_BACKDATE_DAYS to today (Asia/Shanghai), both included;
# staff settle older bills in the admin, with a reason.
SETTLEMENT_BACKDATE_DAYS = env.int("SETTLEMENT_BACKDATE_DAYS", default=30)

# Partner tokens are derived from a stored random seed with this key (claims.tokens), so that the national gateway
# can check `x-tif-signature` without the database holding any token; empty: SECRET_KEY. Changing it leaves every
# token working with `Authorization: Token` (checked by digest) but no longer able to sign: issue new tokens then.
PARTNER_TOKEN_KEY = env("PARTNER_TOKEN_KEY", default="")

# django-import-export: every import is one transaction; any bad row rolls the whole file back.
# Uploaded import files and bad-rows files hold ID numbers: they are deleted this many days after their job ends
# (the job's record stays).
IMPORT_FILES_KEEP_DAYS = env.int("IMPORT_FILES_KEEP_DAYS", default=90)
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Exports are CSV (UTF-8 with a byte-order mark) and XLSX only, formula-like cells quoted (core/exports.py); the
# library's own escaping (it drops a leading "=" only) is on for any other format.
from core import exports as _exports  # noqa: E402  (django-import-export wants the format classes)

EXPORT_FORMATS = _exports.EXPORT_FORMATS
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "claims.api.authentication.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["claims.api.throttling.PartnerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"partner": env("PARTNER_THROTTLE_RATE", default="6000/min")},
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.ContractPageNumberPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Employee medical insurance back office: partner API",
    "DESCRIPTION": "Outpatient settlement for designated facilities (national interface field names).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Tags and operation ids of /api/v1/ are named after the path below it; the gateway's path lies elsewhere.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from the project (drf-spectacular-sidecar): nothing is fetched from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ContributionKindEnum": "accounts.models.ContributionKind",
        "ReferenceKindEnum": "policies.models.ReferenceKind",
    },
}

# Mask for resident ID numbers shown to staff without the `accounts.view_full_certno` permission.
CERTNO_MASK_KEEP_HEAD = 6
CERTNO_MASK_KEEP_TAIL = 4

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="WARNING")},
}

from .celery import *  # noqa: E402,F403  (one module per integration)
