"""A strict multipart/form-data parser over a body already held in memory.

The service reads the whole body first (its size is capped), so parsing is
two ``bytes.find`` calls a part, in C, instead of a streaming parser's
per-chunk Python callbacks and temporary files (which cost ~40 ms on a
0.5 MB request on this project's machine: docs/performance.md). Anything
that is not well-formed raises ``MultipartError``; the caller answers it as
"no content" (errorCode 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import parse_options_header

MAX_HEADER_BYTES = 8192


class MultipartError(ValueError):
    pass


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None  # None: a plain field, not a file
    data: bytes


def parse(content_type: str, body: bytes, *, max_files: int = 4, max_fields: int = 16) -> list[Part]:
    """Every part of a ``multipart/form-data`` body, in order. The body must
    end with the closing delimiter; a preamble before the first delimiter
    and an epilogue after the last are ignored (RFC 2046)."""
    ctype, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise MultipartError("content type")
    delimiter = b"--" + boundary
    separator = b"\r\n" + delimiter
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:
        first = body.find(separator)
        if first < 0:
            raise MultipartError("no delimiter")
        pos = first + len(separator)
    parts: list[Part] = []
    files = fields = 0
    while True:
        if body.startswith(b"--", pos):
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise MultipartError("delimiter line")
        start = eol + 2
        end = body.find(separator, start)
        if end < 0:
            raise MultipartError("unterminated part")
        parts.append(_part(body, start, end))
        if parts[-1].filename is None:
            fields += 1
        else:
            files += 1
        if files > max_files or fields > max_fields:
            raise MultipartError("too many parts")
        pos = end + len(separator)


def _part(body: bytes, start: int, end: int) -> Part:
    if body.startswith(b"\r\n", start):  # no headers at all
        raise MultipartError("part without headers")
    head_end = body.find(b"\r\n\r\n", start, min(end, start + MAX_HEADER_BYTES))
    if head_end < 0:
        raise MultipartError("part headers")
    disposition = None
    for line in body[start:head_end].split(b"\r\n"):
        key, sep, value = line.partition(b":")
        if not sep:
            raise MultipartError("header line")
        if key.strip().lower() == b"content-disposition":
            disposition = value.strip()
    if disposition is None:
        raise MultipartError("no content-disposition")
    kind, params = parse_options_header(disposition)
    name = params.get(b"name")
    if kind != b"form-data" or name is None:
        raise MultipartError("content-disposition")
    filename = params.get(b"filename")
    if filename is None:
        filename = _extended_filename(disposition)
    return Part(name.decode("utf-8", "replace"), None if filename is None else filename.decode("utf-8", "replace"),
                body[head_end + 4:end])


#: ``filename*=charset'language'percent-encoded`` (RFC 5987/8187). RFC 7578 tells senders not to use it in
#: form data, but some clients do for a name that is not ASCII (urllib3 before 1.25, so ``requests`` of
#: 2019 and older: ``filename*=utf-8''%E1%BA%A3nh.jpg`` alone), and werkzeug, busboy and Spring read it;
#: python-multipart drops it, which made such an upload a plain field ("img1_missing").
_EXTENDED_FILENAME = re.compile(rb";\s*filename\*\s*=\s*([^;]*)", re.IGNORECASE)


def _extended_filename(disposition: bytes) -> bytes | None:
    """The file name of a ``filename*`` parameter, as UTF-8 bytes; None without one."""
    found = _EXTENDED_FILENAME.search(disposition)
    if found is None:
        return None
    value = found.group(1).strip().strip(b'"')
    charset, _, rest = value.partition(b"'")
    encoded = rest.partition(b"'")[2] if rest else value
    try:
        return unquote_to_bytes(encoded).decode(charset.decode("ascii") or "utf-8").encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return unquote_to_bytes(encoded)
