"""The test suite: fast hashing, in-process tasks unless a test starts a real worker."""

from .base import *  # noqa: F403

SECRET_KEY = "test-key-not-for-production-use-0123456789-abcdefghijklmnop"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
LANGUAGE_CODE = "en"
