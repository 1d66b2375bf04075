"""Key stores for the contract tests: SQLite always, PostgreSQL when
``FACEMATCH_TEST_POSTGRES_URL`` is set (``eval "$(scripts/services.sh)"``).

Each PostgreSQL test gets its own schema (``search_path`` set in the URL), so
tests, and several test runs sharing one server, never see each other's keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get("FACEMATCH_TEST_POSTGRES_URL", "")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="FACEMATCH_TEST_POSTGRES_URL is not set "
                                    "(eval \"$(scripts/services.sh)\" starts a PostgreSQL server)")


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("FACEMATCH_TEST_POSTGRES_URL is not set (eval \"$(scripts/services.sh)\")")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(POSTGRES_URL, schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    return request.getfixturevalue("pg_url")
