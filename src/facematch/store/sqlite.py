"""SQLite key store: the embedded default. WAL mode and a busy timeout let
several service processes share one file; quota consumption is a single
conditional UPDATE, which SQLite executes atomically."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facematch.store.base import KeyInfo, StoreUnavailableError
from facematch.store.secrets import hash_secret, new_api_key, new_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    api_key     TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    quota       INTEGER,
    used        INTEGER NOT NULL DEFAULT 0,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
)
"""

_COLUMNS = "api_key, label, quota, used, revoked, created_at"


def _info(row: Sequence[Any]) -> KeyInfo:
    return KeyInfo(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


class SqliteKeyStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute(SCHEMA)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailableError("sqlite_connect") from exc
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError("sqlite_operational") from exc
        finally:
            conn.close()

    def create_key(self, *, quota: int | None, label: str = "") -> tuple[KeyInfo, str]:
        api_key, secret = new_api_key(), new_secret()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._conn() as c:
            c.execute("INSERT INTO api_keys (api_key, secret_hash, label, quota, created_at) VALUES (?, ?, ?, ?, ?)",
                      (api_key, hash_secret(secret), label, quota, now))
        return KeyInfo(api_key, label, quota, 0, False, now), secret

    def secret_hash(self, api_key: str) -> str | None:
        with self._conn() as c:
            row = c.execute("SELECT secret_hash FROM api_keys WHERE api_key = ? AND revoked = 0", (api_key,)).fetchone()
        return row[0] if row else None

    def get(self, api_key: str) -> KeyInfo | None:
        with self._conn() as c:
            row = c.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE api_key = ?", (api_key,)).fetchone()
        return _info(row) if row else None

    def list_keys(self) -> list[KeyInfo]:
        with self._conn() as c:
            return [_info(r) for r in c.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, api_key")]

    def set_quota(self, api_key: str, quota: int | None) -> bool:
        with self._conn() as c:
            return c.execute("UPDATE api_keys SET quota = ? WHERE api_key = ?", (quota, api_key)).rowcount == 1

    def revoke(self, api_key: str) -> bool:
        with self._conn() as c:
            return c.execute("UPDATE api_keys SET revoked = 1 WHERE api_key = ?", (api_key,)).rowcount == 1

    def has_quota(self, api_key: str) -> bool:
        with self._conn() as c:
            row = c.execute("SELECT 1 FROM api_keys WHERE api_key = ? AND revoked = 0 "
                            "AND (quota IS NULL OR used < quota)",
                            (api_key,)).fetchone()
        return row is not None

    def consume(self, api_key: str) -> bool:
        with self._conn() as c:
            cur = c.execute("UPDATE api_keys SET used = used + 1 "
                            "WHERE api_key = ? AND revoked = 0 AND (quota IS NULL OR used < quota)", (api_key,))
            return cur.rowcount == 1

    def count(self) -> int:
        with self._conn() as c:
            return int(c.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0])

    def ping(self) -> None:
        with self._conn() as c:
            c.execute("SELECT 1").fetchone()
