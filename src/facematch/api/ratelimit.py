"""Back-pressure for the HTTP service: a failed-authentication limit per client
address, and admission control for the matching work.

``FailedAuthLimiter``: after ``max_failures`` failed authentications from one
client address within ``window_s`` seconds, that address gets HTTP 429 with a
``Retry-After`` (seconds until its oldest counted failure leaves the window)
before any secret is hashed, so guessing secrets and burning scrypt CPU are
both capped. IPv6 clients are counted per /64 (one subscriber usually holds a
whole /64). The address is the TCP peer (``request.client``): behind a reverse
proxy every client shares the proxy's address, so set the limit there instead.
Memory is bounded: at most ``max_clients`` addresses are tracked.

``Admission``: a request takes a slot before its body is read or its URLs are
fetched, and gives it back only when its matching work has *finished* on the
thread pool (a request that timed out cannot free a thread that is still busy
with its work). When every slot is taken the request gets 503 with
``Retry-After`` at once, so memory and queueing stay bounded under any load.
One API key holds at most ``per_owner`` slots, so that a key sending more than
the service admits leaves room for the others.

``FairPool``: the matching threads take queued work from the keys in turn (the
next job is the oldest of the key served least recently), not first come first
served, so a key's request waits behind at most one queued request of each
other key, however many another key has queued.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anyio

from facematch.errors import AuthError, RateLimitedError, ServiceUnavailableError

T = TypeVar("T")

__all__ = ["Admission", "FailedAuthLimiter", "FairPool", "RateLimitedError", "client_address", "guarded_authenticate"]


def client_address(host: str | None) -> str:
    """The key a client is counted under: its IPv4 address, its IPv6 /64."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class FailedAuthLimiter:
    def __init__(self, max_failures: int, window_s: float, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_failures > 0 and self.window_s > 0

    def check(self, client: str) -> None:
        """Raise ``RateLimitedError`` if ``client`` is over the limit now."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            times = self._failures.get(client)
            if times is None or len(times) < self.max_failures:
                return
            age = now - times[0]
            if age >= self.window_s:
                return
        raise RateLimitedError(math.ceil(self.window_s - age))

    def record_failure(self, client: str) -> None:
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                if len(self._failures) >= self.max_clients:
                    self._prune(now)
                times = self._failures[client] = collections.deque(maxlen=self.max_failures)
            times.append(now)

    def _prune(self, now: float) -> None:
        """Forget clients with no failure inside the window; if that is not
        enough, the longest-tracked ones. Called with the lock held."""
        for client in [c for c, t in self._failures.items() if now - t[-1] >= self.window_s]:
            del self._failures[client]
        while len(self._failures) >= self.max_clients:
            del self._failures[next(iter(self._failures))]

    def tracked(self) -> int:
        with self._lock:
            return len(self._failures)


async def guarded_authenticate(limiter: FailedAuthLimiter, authenticate: Callable[[str | None], T],
                               authorization: str | None, peer: str | None) -> T:
    """``authenticate(authorization)`` on a worker thread, refused up front for
    an address over the failure limit; each ``AuthError`` counts one failure."""
    client = client_address(peer)
    limiter.check(client)
    try:
        return await anyio.to_thread.run_sync(authenticate, authorization)
    except AuthError:
        limiter.record_failure(client)
        raise


class Admission:
    """At most ``limit`` requests between "about to read the images" and "their
    matching work is done", at most ``per_owner`` of them (default: all) from one owner (an API key)."""

    def __init__(self, limit: int, per_owner: int | None = None) -> None:
        self.limit = limit
        self.per_owner = limit if per_owner is None else max(1, min(per_owner, limit))
        self._taken = 0
        self._held: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @property
    def taken(self) -> int:
        with self._lock:
            return self._taken

    def held(self, owner: str) -> int:
        with self._lock:
            return self._held[owner]

    @contextlib.contextmanager
    def slot(self, owner: str = "") -> Iterator[_Slot]:
        """A slot for the ``with`` block; 503 ``overloaded`` when none is free, ``key_busy`` when ``owner``
        already holds ``per_owner``. ``slot.hold_until(future)`` keeps it past the block until ``future`` is
        done."""
        with self._lock:
            if self._taken >= self.limit:
                raise ServiceUnavailableError("overloaded")
            if self._held[owner] >= self.per_owner:
                raise ServiceUnavailableError("key_busy")
            self._taken += 1
            self._held[owner] += 1
        s = _Slot(self, owner)
        try:
            yield s
        finally:
            if s.future is None:
                s.release()

    def _give_back(self, owner: str) -> None:
        with self._lock:
            self._taken -= 1
            self._held[owner] -= 1
            if not self._held[owner]:
                del self._held[owner]


class _Slot:
    def __init__(self, admission: Admission, owner: str) -> None:
        self._admission = admission
        self.owner = owner
        self._released = False
        self._lock = threading.Lock()
        self.future: concurrent.futures.Future[Any] | None = None

    def hold_until(self, future: concurrent.futures.Future[Any]) -> None:
        self.future = future
        future.add_done_callback(lambda _f: self.release())

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._admission._give_back(self.owner)


class FairPool:
    """``threads`` threads running submitted work, taken from the owners in turn: the next job is the oldest
    queued one of the owner served least recently (one never served first, then the order they queued in).
    ``submit`` returns a standard future; one cancelled while queued never runs (as with
    ``ThreadPoolExecutor``)."""

    #: Owners remembered with no work queued (when they were last served); beyond it the oldest are forgotten.
    REMEMBERED = 4096

    def __init__(self, threads: int, name: str = "fairpool") -> None:
        self._queues: dict[str, collections.deque[tuple[Callable[[], Any], concurrent.futures.Future[Any]]]] = {}
        self._served: dict[str, int] = {}  # owner -> the dispatch number of its last job
        self._dispatched = 0
        self._ready = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(max(1, threads))]
        for t in self._threads:
            t.start()

    def submit(self, owner: str, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("pool shut down")
            self._queues.setdefault(owner, collections.deque()).append((fn, future))
            self._ready.notify()
        return future

    def _next(self) -> tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None:
        with self._ready:
            self._ready.wait_for(lambda: self._stopping or bool(self._queues))
            if self._stopping:
                return None
            owner = min(self._queues, key=lambda o: self._served.get(o, -1))
            queue = self._queues[owner]
            job = queue.popleft()
            if not queue:
                del self._queues[owner]
            self._served.pop(owner, None)
            self._served[owner] = self._dispatched  # the most recent last: the dict stays in serving order
            self._dispatched += 1
            if len(self._served) > self.REMEMBERED:
                idle = next((o for o in self._served if o not in self._queues), None)
                if idle is not None:
                    del self._served[idle]
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del fn, future, job

    def shutdown(self) -> None:
        """Stop taking work, cancel what is queued; work already running finishes on its own thread."""
        with self._ready:
            self._stopping = True
            jobs = [job for queue in self._queues.values() for job in queue]
            self._queues.clear()
            self._ready.notify_all()
        for _fn, future in jobs:
            future.cancel()
