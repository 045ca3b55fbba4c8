import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_check_deploy_is_clean_with_production_settings():
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE: a deployment never sets it.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**env, "DJANGO_SECRET_KEY": "x" * 20 + "-production-like-secret-key-0123456789-abcdefgh",
           "DJANGO_ALLOWED_HOSTS": "medins.example.org", "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "CACHE_URL": "rediscache://127.0.0.1:6379/1"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_sqlite():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DJANGO_SECRET_KEY": "y" * 60, "DJANGO_ALLOWED_HOSTS": "medins.example.org",
                "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


@pytest.mark.postgres
def test_production_settings_refuse_a_per_process_cache():
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env.update({"DJANGO_SECRET_KEY": "z" * 60, "DJANGO_ALLOWED_HOSTS": "medins.example.org",
                "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr
