"""Structured JSON logs: one object per line with the request id, codes and
timings. Images, base64 strings, embeddings and secrets are never logged."""

from __future__ import annotations

import json
import logging
import sys
import time
from types import TracebackType


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if rid := getattr(record, "request_id", None):
            doc["request_id"] = rid
        if fields := getattr(record, "fields", None):
            doc.update(fields)
        if record.exc_info:
            # The type only: a traceback can quote local variables' reprs.
            doc["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            doc["exc_where"] = _where(record.exc_info[2])
        return json.dumps(doc, ensure_ascii=False)


def _where(tb: TracebackType | None) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else ""


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log repeats what facematch.api logs, with the query string (URLs of images).
    logging.getLogger("uvicorn.access").disabled = True
