"""PostgreSQL key store (``FACEMATCH_DATABASE_URL=postgresql://...``), psycopg 3.

Several service processes (and hosts) can share one database. Quota
consumption is one conditional ``UPDATE ... SET used = used + 1 WHERE ... AND
(quota IS NULL OR used < quota)`` in autocommit mode: PostgreSQL takes the row
lock and re-checks the condition on the newest row version (READ COMMITTED),
so concurrent requests can never push ``used`` past ``quota``.

Connections come from a small pool (at most ``max_connections`` open, idle
ones reused). Any connection-level failure (server down, network cut, a
statement past ``statement_timeout_ms``) raises ``StoreUnavailableError``,
which the API answers with HTTP 503 and ``Retry-After``; the pool is emptied
so the next call reconnects, and service recovers as soon as the database is
back. Read-only calls made on a reused connection that turns out to be dead
(e.g. after a server restart) are retried once on a fresh one; writes never
are, so a request is not charged twice.

The schema is created on first contact (under an advisory lock, so two
processes starting together do not race). A server that is down at start is
not fatal: calls answer 503 until it is reachable.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from facematch.store.base import KeyInfo, StoreUnavailableError
from facematch.store.secrets import hash_secret, new_api_key, new_secret

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    api_key     TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    quota       BIGINT CHECK (quota IS NULL OR quota >= 0),
    used        BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    revoked     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL
)
"""
# Any 64-bit constant: serialises schema creation between processes.
_SCHEMA_LOCK_ID = 0x66_61_63_65_6D_61_74_63

_COLUMNS = "api_key, label, quota, used, revoked, created_at"


def _info(row: Sequence[Any]) -> KeyInfo:
    return KeyInfo(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


class PostgresKeyStore:
    def __init__(self, url: str, *, max_connections: int = 8, connect_timeout_s: int = 3,
                 statement_timeout_ms: int = 5000) -> None:
        self._url = url
        self._connect_timeout_s = max(1, int(connect_timeout_s))
        self._statement_timeout_ms = int(statement_timeout_ms)
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        try:
            self._ensure_schema()
        except StoreUnavailableError:
            log.warning("database unavailable at start (%s); retrying on each call", redact(url))

    # -- connections ---------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=self._connect_timeout_s,
                                   keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        except psycopg.Error as exc:
            raise StoreUnavailableError("postgres_connect") from exc
        try:
            conn.execute(f"SET statement_timeout = {self._statement_timeout_ms}")
        except psycopg.Error as exc:
            conn.close()
            raise StoreUnavailableError("postgres_connect") from exc
        return conn

    def _acquire(self) -> tuple[psycopg.Connection, bool]:
        """A connection and whether it was reused from the pool."""
        if not self._slots.acquire(timeout=self._connect_timeout_s):
            raise StoreUnavailableError("postgres_pool_exhausted")
        try:
            while True:
                try:
                    conn = self._idle.get_nowait()
                except queue.Empty:
                    return self._connect(), False
                if not conn.closed and not conn.broken:
                    return conn, True
                conn.close()
        except BaseException:
            self._slots.release()
            raise

    def _release(self, conn: psycopg.Connection, ok: bool) -> None:
        try:
            if ok and not conn.closed and not conn.broken \
                    and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._idle.put(conn)
            else:
                conn.close()
        finally:
            self._slots.release()

    def _drain(self) -> None:
        """Close every idle connection (after a failure they are likely all dead)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _run(self, fn: Callable[[psycopg.Connection], T], *, retry: bool = True) -> T:
        """Run ``fn`` on a pooled connection; ``retry``: once more on a fresh
        connection when a reused one was dead (read-only calls only)."""
        for attempt in (0, 1):
            if not self._schema_ready:
                self._ensure_schema()
            conn, reused = self._acquire()
            ok = False
            try:
                result = fn(conn)
                ok = True
                return result
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drain()
                if retry and reused and attempt == 0:
                    continue
                raise StoreUnavailableError("postgres_operational") from exc
            finally:
                self._release(conn, ok)
        raise AssertionError("unreachable")

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            conn = self._connect()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
                    conn.execute(SCHEMA)
            except psycopg.OperationalError as exc:
                raise StoreUnavailableError("postgres_schema") from exc
            finally:
                conn.close()
            self._schema_ready = True

    def close(self) -> None:
        self._drain()

    # -- the KeyStore protocol -------------------------------------------------

    def create_key(self, *, quota: int | None, label: str = "") -> tuple[KeyInfo, str]:
        api_key, secret = new_api_key(), new_secret()
        hashed = hash_secret(secret)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._run(lambda c: c.execute(
            "INSERT INTO api_keys (api_key, secret_hash, label, quota, created_at) VALUES (%s, %s, %s, %s, %s)",
            (api_key, hashed, label, quota, now)), retry=False)
        return KeyInfo(api_key, label, quota, 0, False, now), secret

    def secret_hash(self, api_key: str) -> str | None:
        row = self._run(lambda c: c.execute(
            "SELECT secret_hash FROM api_keys WHERE api_key = %s AND NOT revoked", (api_key,)).fetchone())
        return row[0] if row else None

    def get(self, api_key: str) -> KeyInfo | None:
        row = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE api_key = %s",
                                            (api_key,)).fetchone())
        return _info(row) if row else None

    def list_keys(self) -> list[KeyInfo]:
        rows = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, api_key")
                         .fetchall())
        return [_info(r) for r in rows]

    def set_quota(self, api_key: str, quota: int | None) -> bool:
        return self._run(lambda c: c.execute("UPDATE api_keys SET quota = %s WHERE api_key = %s",
                                             (quota, api_key)).rowcount == 1, retry=False)

    def revoke(self, api_key: str) -> bool:
        return self._run(lambda c: c.execute("UPDATE api_keys SET revoked = TRUE WHERE api_key = %s",
                                             (api_key,)).rowcount == 1, retry=False)

    def rotate_secret(self, api_key: str) -> str | None:
        secret = new_secret()
        hashed = hash_secret(secret)
        changed = self._run(lambda c: c.execute(
            "UPDATE api_keys SET secret_hash = %s WHERE api_key = %s AND NOT revoked",
            (hashed, api_key)).rowcount == 1, retry=False)
        return secret if changed else None

    def has_quota(self, api_key: str) -> bool:
        row = self._run(lambda c: c.execute(
            "SELECT 1 FROM api_keys WHERE api_key = %s AND NOT revoked AND (quota IS NULL OR used < quota)",
            (api_key,)).fetchone())
        return row is not None

    def consume(self, api_key: str) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE api_keys SET used = used + 1"
            " WHERE api_key = %s AND NOT revoked AND (quota IS NULL OR used < quota)",
            (api_key,)).rowcount == 1, retry=False)

    def count(self) -> int:
        def count(c: Any) -> int:
            row = c.execute("SELECT COUNT(*) FROM api_keys").fetchone()
            return int(row[0]) if row else 0

        return self._run(count)

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1").fetchone())
