"""The SQLite store keeps connections open between calls, and still notices
a database file that was moved away or replaced, as a store that opened the
path on every call did."""

from __future__ import annotations

import threading

import pytest

from facematch.store import StoreUnavailableError
from facematch.store.sqlite import SqliteKeyStore


def test_a_connection_is_reused(tmp_path):
    store = SqliteKeyStore(tmp_path / "k.db")
    info, _ = store.create_key(quota=None)
    store.has_quota(info.api_key)
    (first, _), = store._idle
    assert store.consume(info.api_key)
    (again, _), = store._idle
    assert again is first
    store.close()
    assert store._idle == [] and store.has_quota(info.api_key)  # usable after close: a new connection


def test_a_replaced_database_file_is_the_one_used(tmp_path):
    path = tmp_path / "k.db"
    store = SqliteKeyStore(path)
    old, _ = store.create_key(quota=None)
    assert store.has_quota(old.api_key)
    path.rename(tmp_path / "old.db")
    for suffix in ("-wal", "-shm"):
        if (tmp_path / f"k.db{suffix}").exists():
            (tmp_path / f"k.db{suffix}").rename(tmp_path / f"old.db{suffix}")
    other = SqliteKeyStore(path)  # a new, empty database at the same path
    new, _ = other.create_key(quota=None)
    assert not store.has_quota(old.api_key) and store.has_quota(new.api_key)
    assert store.count() == 1


def test_a_database_moved_away_is_unavailable_then_back(tmp_path):
    path = tmp_path / "k.db"
    store = SqliteKeyStore(path)
    info, _ = store.create_key(quota=3)
    aside = tmp_path / "aside"
    aside.mkdir()
    moved = [f for f in tmp_path.iterdir() if f.name.startswith("k.db")]
    for f in moved:
        f.rename(aside / f.name)
    path.mkdir()  # cannot be opened
    with pytest.raises(StoreUnavailableError):
        store.consume(info.api_key)
    with pytest.raises(StoreUnavailableError):
        store.ping()
    path.rmdir()
    for f in moved:
        (aside / f.name).rename(f)
    assert store.consume(info.api_key) and store.get(info.api_key).used == 1


def test_concurrent_consumption_stops_at_the_quota(tmp_path):
    store = SqliteKeyStore(tmp_path / "k.db", max_idle=3)
    info, _ = store.create_key(quota=25)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            ok = store.consume(info.api_key)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 25 and store.get(info.api_key).used == 25
    assert len(store._idle) <= 3
