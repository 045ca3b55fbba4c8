"""Production: every secret from the environment, HTTPS only, PostgreSQL and a shared cache (Redis) required."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, env

DEBUG = False
DEMO_DATA_ALLOWED = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")
for alias in DATABASES:
    DATABASES[alias]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES.get("replica", DATABASES["default"])["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_REPLICA_URL must point at a PostgreSQL streaming replica of the primary.")
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in ("LocMemCache", "DummyCache"):
    # Workers count partner requests (throttling) and learn of changed policies, tokens and catalog items through
    # this cache: each worker's own memory would count and forget on its own.
    raise ImproperlyConfigured("Production needs CACHE_URL pointing at a cache the workers share, e.g. "
                               "rediscache://127.0.0.1:6379/1.")

# nginx (deploy/nginx) appends the client's address to X-Forwarded-For: login throttling counts that address.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=1)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
