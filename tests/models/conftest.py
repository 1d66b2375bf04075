"""Fixtures of the real-model tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bundle(model_pool):
    """One bundle of real models from the session's pool, for a module."""
    with model_pool.bundle() as b:
        yield b
