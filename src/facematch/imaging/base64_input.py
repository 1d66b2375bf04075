"""Base64 image strings as clients send them: ``base64.encodebytes`` output
with a newline every 76 characters, a ``data:image/...;base64,`` prefix, the
URL-safe alphabet, or missing padding."""

from __future__ import annotations

import base64
import binascii
import re

from facematch.errors import NoContentError

_DATA_URL = re.compile(r"^\s*data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def decode_base64_image(text: object, *, max_bytes: int) -> bytes:
    """Raw bytes from a base64 string; errorCode 1 for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise NoContentError("missing")
    # Reject before doing any work on a string that cannot fit the limit.
    if len(text) > max_bytes * 4 // 3 + max_bytes // 38 + 1024:
        raise NoContentError("too_large")
    body = _WHITESPACE.sub("", _DATA_URL.sub("", text, count=1))
    if "-" in body or "_" in body:
        body = body.replace("-", "+").replace("_", "/")
    body += "=" * (-len(body) % 4)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise NoContentError("invalid_base64") from None
    if not data:
        raise NoContentError("empty")
    return data
