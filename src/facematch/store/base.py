"""What every key store provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from facematch.errors import ServiceUnavailableError


class StoreUnavailableError(ServiceUnavailableError):
    """The database cannot be reached: HTTP 503 with Retry-After."""


@dataclass(frozen=True)
class KeyInfo:
    api_key: str
    label: str
    quota: int | None  # None: unlimited
    used: int
    revoked: bool
    created_at: str

    @property
    def remaining(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.used)

    def as_dict(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "label": self.label, "quota": self.quota, "used": self.used,
                "remaining": self.remaining, "revoked": self.revoked, "created_at": self.created_at}


class KeyStore(Protocol):
    def create_key(self, *, quota: int | None, label: str = "") -> tuple[KeyInfo, str]:
        """A new key; returns its info and the secret (shown once, stored hashed)."""

    def secret_hash(self, api_key: str) -> str | None:
        """The stored hash of an active (not revoked) key, or None."""

    def get(self, api_key: str) -> KeyInfo | None: ...

    def list_keys(self) -> list[KeyInfo]: ...

    def set_quota(self, api_key: str, quota: int | None) -> bool: ...

    def revoke(self, api_key: str) -> bool: ...

    def rotate_secret(self, api_key: str) -> str | None:
        """A new secret for an active key, its quota and usage kept; the old one stops working at once (also
        where a service remembered it: ``api.auth`` binds what it remembers to the stored hash). None for an
        unknown or revoked key."""

    def has_quota(self, api_key: str) -> bool:
        """True if the key is active and has requests left (a cheap pre-check)."""

    def consume(self, api_key: str) -> bool:
        """Atomically take one request from the quota; False when none is left."""

    def count(self) -> int: ...

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` if the database cannot be reached."""
