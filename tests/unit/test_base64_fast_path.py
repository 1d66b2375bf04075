"""The bytes fast path of ``decode_base64_image`` answers exactly as the
regular-expression version it replaced (kept here as the reference): the
same bytes, or the same error detail, for any string."""

from __future__ import annotations

import base64
import binascii
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facematch.errors import NoContentError
from facematch.imaging.base64_input import decode_base64_image

_DATA_URL = re.compile(r"^\s*data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def reference(text: object, *, max_bytes: int) -> bytes:
    """The decoder before the fast path, unchanged."""
    if not isinstance(text, str) or not text.strip():
        raise NoContentError("missing")
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


def outcome(fn, text: object, max_bytes: int = 64) -> tuple[str, object]:
    try:
        return "ok", fn(text, max_bytes=max_bytes)
    except NoContentError as exc:
        return "error", exc.detail


#: Base64 characters, both alphabets, padding, every ASCII and some Unicode whitespace, and a few others.
ALPHABET = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=" + " \t\n\r\x0b\x0c\x1c\x1f"
            + "\x85\xa0\u2028\u3000" + ":;,.!é\x00\x7f")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40), st.sampled_from(["", "data:image/png;base64,", " DATA:x;a=b;base64,"]))
def test_same_answer_as_the_reference(text, prefix):
    assert outcome(decode_base64_image, prefix + text) == outcome(reference, prefix + text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["b64encode", "encodebytes", "urlsafe_b64encode"]),
       st.booleans(), st.booleans())
def test_encoded_bytes_round_trip(raw, how, strip_padding, crlf):
    text = getattr(base64, how)(raw).decode()
    if strip_padding:
        text = text.rstrip("=\n")
    if crlf:
        text = text.replace("\n", "\r\n")
    assert outcome(decode_base64_image, text, 1000) == outcome(reference, text, 1000)


@pytest.mark.parametrize("text", [None, 5, b"QUJD", "", " ", "\u3000", "\x1c", "=", "====", "QUJD=", "QUJD====",
                                  "QQ", "QQ=", "QQ===", "Q", "QUJD\u2028RUZH", "QUJDé", "QU JD", "data:;base64,QUJD"])
def test_edge_cases(text):
    assert outcome(decode_base64_image, text) == outcome(reference, text)


def test_the_size_limit_is_checked_first():
    text = "A" * 5000
    assert outcome(decode_base64_image, text, 100) == outcome(reference, text, 100) == ("error", "too_large")
