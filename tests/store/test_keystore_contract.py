"""The ``KeyStore`` protocol, one contract run against every backend: SQLite
(the default) and a real PostgreSQL server."""

from __future__ import annotations

import socket
import threading

import pytest

from facematch.store import StoreUnavailableError, open_store, verify_secret
from facematch.store.base import KeyInfo


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    if hasattr(s, "close"):
        s.close()


def test_open_store_routes_by_url(db_url, store):
    expected = "PostgresKeyStore" if db_url.startswith("postgresql://") else "SqliteKeyStore"
    assert type(store).__name__ == expected
    with pytest.raises(ValueError):
        open_store("mysql://nope")


def test_key_lifecycle(store):
    assert store.count() == 0
    info, secret = store.create_key(quota=3, label="bank-a")
    assert isinstance(info, KeyInfo) and info.api_key.startswith("fm_") and len(secret) >= 40
    got = store.get(info.api_key)
    assert got == info and got.remaining == 3 and not got.revoked
    assert store.count() == 1 and [k.api_key for k in store.list_keys()] == [info.api_key]
    assert store.set_quota(info.api_key, None) and store.get(info.api_key).quota is None
    assert store.get(info.api_key).remaining is None
    assert store.revoke(info.api_key) and store.get(info.api_key).revoked
    assert store.secret_hash(info.api_key) is None
    assert not store.has_quota(info.api_key) and not store.consume(info.api_key)
    assert store.get("fm_missing") is None and store.secret_hash("fm_missing") is None
    assert not store.set_quota("fm_missing", 1) and not store.revoke("fm_missing")
    assert not store.has_quota("fm_missing") and not store.consume("fm_missing")
    store.ping()


def test_secret_is_hashed_at_rest(store):
    info, secret = store.create_key(quota=None)
    stored = store.secret_hash(info.api_key)
    assert stored.startswith("scrypt$") and secret not in stored
    assert verify_secret(secret, stored) and not verify_secret(secret + "x", stored)
    # Two keys never share a salt/hash even for equal secrets (checked via the hash format).
    other, _ = store.create_key(quota=None)
    assert store.secret_hash(other.api_key).split("$")[4] != stored.split("$")[4]


def test_rotate_secret(store):
    info, secret = store.create_key(quota=4, label="bank-b")
    assert store.consume(info.api_key)
    new = store.rotate_secret(info.api_key)
    stored = store.secret_hash(info.api_key)
    assert new and new != secret and verify_secret(new, stored) and not verify_secret(secret, stored)
    assert store.get(info.api_key) == KeyInfo(info.api_key, "bank-b", 4, 1, False, info.created_at)
    assert store.rotate_secret("fm_missing") is None
    assert store.revoke(info.api_key) and store.rotate_secret(info.api_key) is None


def test_quota_counts_and_stops(store):
    info, _ = store.create_key(quota=2)
    assert store.has_quota(info.api_key)
    assert store.consume(info.api_key) and store.consume(info.api_key)
    assert not store.consume(info.api_key) and not store.has_quota(info.api_key)
    assert store.get(info.api_key).used == 2 and store.get(info.api_key).remaining == 0
    assert store.set_quota(info.api_key, 3) and store.consume(info.api_key)
    assert store.get(info.api_key).used == 3
    zero, _ = store.create_key(quota=0)
    assert not store.has_quota(zero.api_key) and not store.consume(zero.api_key)
    unlimited, _ = store.create_key(quota=None)
    assert all(store.consume(unlimited.api_key) for _ in range(5))
    assert store.get(unlimited.api_key).used == 5


def test_consume_is_atomic_across_threads(store):
    info, _ = store.create_key(quota=40)
    wins: list[int] = []
    barrier = threading.Barrier(12)

    def worker():
        barrier.wait()
        for _ in range(10):
            if store.consume(info.api_key):
                wins.append(1)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 40 and store.get(info.api_key).used == 40


def test_labels_and_keys_are_data_not_sql(store):
    info, _ = store.create_key(quota=1, label="x'); DROP TABLE api_keys; --")
    assert store.get(info.api_key).label == "x'); DROP TABLE api_keys; --"
    assert store.get("' OR '1'='1") is None and not store.consume("' OR '1'='1")
    assert store.count() == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_postgres_is_unavailable_not_fatal():
    """A server that is down: the store still opens; every call raises
    ``StoreUnavailableError`` (HTTP 503), quickly."""
    import time

    from facematch.store.postgres import PostgresKeyStore, redact

    port = closed_port()
    url = f"postgresql://facematch:hunter2@127.0.0.1:{port}/nope"
    store = PostgresKeyStore(url, connect_timeout_s=1)
    t0 = time.monotonic()
    for call in (store.ping, lambda: store.has_quota("k"), lambda: store.consume("k"), lambda: store.secret_hash("k")):
        with pytest.raises(StoreUnavailableError):
            call()
    assert time.monotonic() - t0 < 5
    assert redact(url) == f"postgresql://facematch:***@127.0.0.1:{port}/nope"


def test_unreadable_sqlite_is_unavailable(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
    store.create_key(quota=1)
    (tmp_path / "k.db").rename(tmp_path / "moved.db")
    (tmp_path / "k.db").mkdir()  # what sits at the path cannot be opened as a database
    with pytest.raises(StoreUnavailableError):
        store.ping()
    with pytest.raises(StoreUnavailableError):
        store.consume("fm_x")
