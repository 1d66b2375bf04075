"""HTTP Basic authentication against the key store.

Secrets are verified with scrypt (slow on purpose). So that every request does
not pay that cost, a successful verification is remembered for a short time as
an HMAC of the secret under a per-process random key: the plain secret is
never kept, and revocation still applies because the store is asked on every
request whether the key is active. What is remembered is bound to the stored
hash, so a rotated secret (``facematch keys rotate``) stops working at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time

from facematch.errors import AuthError, ServiceUnavailableError
from facematch.store import KeyStore, verify_secret


def parse_basic(header: str | None) -> tuple[str, str]:
    if not header or not header[:6].lower() == "basic ":
        raise AuthError("missing")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AuthError("malformed") from None
    key, sep, secret = decoded.partition(":")
    if not sep or not key or not secret or len(key) > 128 or len(secret) > 256:
        raise AuthError("malformed")
    return key, secret


class Authenticator:
    def __init__(self, store: KeyStore, *, cache_ttl_s: float = 300.0, max_concurrent_kdf: int = 4,
                 kdf_wait_s: float = 5.0) -> None:
        self.store = store
        self.cache_ttl_s = cache_ttl_s
        # Each scrypt check takes 16 MiB and ~40 ms of CPU: a flood of bad
        # credentials may not run more than a few at once (503 past the wait).
        self._kdf_slots = threading.BoundedSemaphore(max_concurrent_kdf)
        self.kdf_wait_s = kdf_wait_s
        self._pepper = secrets.token_bytes(32)
        self._cache: dict[str, tuple[bytes, str, float]] = {}  # api_key -> (mac, stored hash, expiry)
        self._lock = threading.Lock()

    def _mac(self, api_key: str, secret: str) -> bytes:
        return hmac.new(self._pepper, f"{api_key}\x00{secret}".encode(), hashlib.sha256).digest()

    def authenticate(self, header: str | None) -> str:
        """The api_key of valid credentials; ``AuthError`` otherwise. Blocking (scrypt, database)."""
        api_key, secret = parse_basic(header)
        stored = self.store.secret_hash(api_key)
        mac = self._mac(api_key, secret)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(api_key)
        if (stored is not None and cached and cached[2] > now and cached[1] == stored
                and hmac.compare_digest(cached[0], mac)):
            return api_key
        if not self._kdf_slots.acquire(timeout=self.kdf_wait_s):
            raise ServiceUnavailableError("auth_busy")
        try:
            ok = verify_secret(secret, stored)
        finally:
            self._kdf_slots.release()
        if not ok or stored is None:
            raise AuthError("bad_credentials")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[api_key] = (mac, stored, now + self.cache_ttl_s)
        return api_key
