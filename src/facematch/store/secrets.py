"""API key and secret generation; secrets are kept only as scrypt hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~40 ms here): OWASP's minimum for
# scrypt. Verified secrets are cached in memory as keyed HMACs (see auth).
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


def new_api_key() -> str:
    return "fm_" + secrets.token_hex(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=_DKLEN)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# A hash of an unguessable secret, verified against when the key does not
# exist, so that unknown keys cost the same time as wrong secrets.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time check of ``secret`` against a stored hash (None: unknown key)."""
    target = stored or _DUMMY_HASH
    try:
        scheme, n, r, p, salt, digest = target.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected) and stored is not None
