"""API keys and request quotas. SQLite by default; see ``open_store``."""

from __future__ import annotations

from facematch.store.base import KeyInfo, KeyStore, StoreUnavailableError
from facematch.store.secrets import hash_secret, new_api_key, new_secret, verify_secret


def open_store(database_url: str) -> KeyStore:
    if database_url.startswith("sqlite:///"):
        from facematch.store.sqlite import SqliteKeyStore

        return SqliteKeyStore(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        from facematch.store.postgres import PostgresKeyStore

        return PostgresKeyStore(database_url)
    raise ValueError("database_url must start with sqlite:/// or postgresql://")


__all__ = ["KeyInfo", "KeyStore", "StoreUnavailableError", "open_store", "hash_secret", "verify_secret",
           "new_api_key", "new_secret"]
