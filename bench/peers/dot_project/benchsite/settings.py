"""Settings for the django-oauth-toolkit (DOT) peer of tokensmith's benchmark.

Production-style as far as the workload allows (Django's deployment checklist and
DOT's documentation): DEBUG off, PostgreSQL with persistent connections, only the
apps and middleware the token endpoint needs, DOT's defaults for client secrets
(hashed with Django's default password hasher) and for access tokens (opaque, one
row per token in the database: DOT has no JWT access tokens built in).

Environment: DOT_BENCH_DB (database name), DOT_BENCH_DB_HOST, DOT_BENCH_DB_PORT,
DOT_BENCH_DB_USER, DOT_BENCH_SECRET_KEY.
"""

import os

SECRET_KEY = os.environ.get("DOT_BENCH_SECRET_KEY", "bench-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DOT_BENCH_DB", "tokensmith_bench_dot"),
        "USER": os.environ.get("DOT_BENCH_DB_USER", "postgres"),
        "HOST": os.environ.get("DOT_BENCH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DOT_BENCH_DB_PORT", "5432"),
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

OAUTH2_PROVIDER = {
    "SCOPES": {"edit": "Edit"},
    "DEFAULT_SCOPES": ["edit"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
