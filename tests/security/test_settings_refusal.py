"""Settings refuse an empty, blank or short admin secret in any environment
but development (a misspelt environment included); development needs none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from facematch.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("FACEMATCH_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("env", ["production", "staging", "prod", "Production", ""])
@pytest.mark.parametrize("secret", ["", " " * 20, "changeme", "x" * 15])
def test_unsafe_admin_secret_is_refused_outside_development(env, secret):
    with pytest.raises(ValidationError, match="FACEMATCH_ADMIN_SECRET"):
        Settings(env=env, admin_secret=secret)


def test_refused_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("FACEMATCH_ENV", "production")
    monkeypatch.delenv("FACEMATCH_ADMIN_SECRET", raising=False)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "FACEMATCH_ADMIN_SECRET" in str(err.value)
    monkeypatch.setenv("FACEMATCH_ADMIN_SECRET", "a-long-enough-admin-secret")
    s = Settings()
    assert s.env == "production"
    assert "a-long-enough" not in repr(s) and "a-long-enough" not in str(s.model_dump())  # SecretStr


def test_development_needs_no_admin_secret():
    assert Settings(env="development").admin_secret.get_secret_value() == ""
    assert Settings(env="production", admin_secret="s" * 16).env == "production"


def test_safe_defaults():
    s = Settings()
    assert s.url_allowlist == []  # private hosts are off unless listed
    assert s.auth_fail_limit > 0 and s.auth_fail_window_s > 0
    assert s.limits.max_image_pixels <= 50_000_000 and s.limits.max_body_bytes <= 64 * 1024 * 1024
    assert s.request_deadline_s <= 60 and s.queue_limit >= 1
    assert s.database_url is None or s.database_url.startswith("sqlite")
