"""Work whose request has given up stops at its next stage.

A thread cannot be interrupted: when a request's deadline passes while its match is running, the service
answers 503 at once, but the thread goes on decoding, detecting and embedding for nobody, and the admission
slot stays taken until it is done (``api/app.py: _run_limited``). So the service marks the work
``abandoned`` (a ``threading.Event`` it sets when the request gives up), and the matcher calls
``checkpoint()`` between its stages (``matcher._Stages``) and while waiting for the decode budget
(``imaging/decode.py: DecodeBudget``): the first one after the mark raises ``Abandoned``, the models and
buffers go back, and the thread and its slot are free for a request that can still be answered.

The mark travels in a context variable, set for the work by ``scope``. A thread of a pool does not inherit
the submitting thread's context: what the work hands to another thread it submits under
``contextvars.copy_context().run`` (``Matcher.match`` does for its second image). Without a scope (the CLI,
evaluation, benchmarks) ``checkpoint`` never raises.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_MARK: ContextVar[threading.Event | None] = ContextVar("facematch_abandoned", default=None)


class Abandoned(BaseException):
    """The request this work was for has been answered already (its deadline passed): nothing will read the
    result. Never reaches a client: the request's own answer was sent before. A ``BaseException``, as
    ``asyncio.CancelledError`` is, so that no ``except Exception`` on the way (a decoder's failure mapped to
    errorCode 1, a check's) takes it for a failure of the work."""


@contextmanager
def scope(abandoned: threading.Event) -> Iterator[None]:
    """Run the ``with`` body as work that ``abandoned`` being set stops at its next ``checkpoint``."""
    token = _MARK.set(abandoned)
    try:
        yield
    finally:
        _MARK.reset(token)


def checkpoint() -> None:
    """Raise ``Abandoned`` if the work running in this context has been given up."""
    mark = _MARK.get()
    if mark is not None and mark.is_set():
        raise Abandoned
