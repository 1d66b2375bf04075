"""Fixtures of the real-model tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def matcher(model_pool):
    """The matcher on the session's pool of real models, default settings."""
    from facematch.matcher import build_matcher
    from facematch.settings import Settings

    m = build_matcher(Settings(), pool=model_pool)
    yield m
    m.close()


@pytest.fixture(scope="module")
def bundle(model_pool):
    """One bundle of real models from the session's pool, for a module."""
    with model_pool.bundle() as b:
        yield b
