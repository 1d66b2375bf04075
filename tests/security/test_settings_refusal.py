"""Settings refuse a demo key (printed to the log at first start) in any
environment but development, a misspelt one included."""

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
def test_a_demo_key_is_refused_outside_development(env):
    with pytest.raises(ValidationError, match="FACEMATCH_DEMO_KEY"):
        Settings(env=env)
    assert Settings(env=env, demo_key=False).env == env


def test_refused_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("FACEMATCH_ENV", "production")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "FACEMATCH_DEMO_KEY" in str(err.value)
    monkeypatch.setenv("FACEMATCH_DEMO_KEY", "false")
    assert Settings().env == "production"


def test_development_may_create_a_demo_key():
    assert Settings(env="development").demo_key is True


def test_safe_defaults():
    s = Settings()
    assert s.url_allowlist == []  # private hosts are off unless listed
    assert s.auth_fail_limit > 0 and s.auth_fail_window_s > 0
    assert s.limits.max_image_pixels <= 50_000_000 and s.limits.max_body_bytes <= 64 * 1024 * 1024
    assert s.request_deadline_s <= 60 and s.queue_limit >= 1
    assert s.database_url is None or s.database_url.startswith("sqlite")
