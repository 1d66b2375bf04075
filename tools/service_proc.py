"""Service processes on loopback for the multi-process tests and benchmarks.

``Service`` starts one command (``facematch serve``, or uvicorn on an app
factory) on a free 127.0.0.1 port with its output in a log file, waits until
it answers, and stops it by its own pid (SIGINT, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PATH = "/api/v2/ekyc/face_matching"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(port: int) -> list[str]:
    """The real service, as a user starts it."""
    return [sys.executable, "-m", "facematch.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]


def uvicorn_command(port: int, factory: str, workers: int = 1) -> list[str]:
    """uvicorn on an app factory; ``workers`` > 1 runs uvicorn's supervisor,
    which restarts a worker process that dies."""
    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--timeout-graceful-shutdown", "3", "--no-access-log"]


class Service:
    def __init__(self, command: list[str], port: int, env: dict[str, str], log_path: Path) -> None:
        self.command, self.port, self.log_path = command, port, log_path
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "FACEMATCH_DEMO_KEY": "false", "FACEMATCH_WORKERS": "1",
                    **env}
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = self.base_url + PATH

    def start(self, timeout_s: float = 60.0, ready_workers: int = 1) -> Service:
        return self.launch().wait_ready(timeout_s, ready_workers)

    def launch(self) -> Service:
        """Start the process without waiting (start several, then ``wait_ready`` each)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self, timeout_s: float = 60.0, ready_workers: int = 1) -> Service:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                # uvicorn answers only once the app has started; with several
                # workers, wait for each one's startup line (INFO logging).
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200 and (
                        ready_workers == 1 or self.log().count("Application startup complete") >= ready_workers):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"service not ready after {timeout_s} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        """Worker pids (uvicorn --workers N), from /proc."""
        import psutil

        pids = []
        for c in psutil.Process(self.proc.pid).children():
            try:
                if "resource_tracker" not in " ".join(c.cmdline()):  # multiprocessing's helper
                    pids.append(c.pid)
            except psutil.Error:
                pass
        return pids

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.proc = None

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


async def fire(urls: list[str], auth: tuple[str, str], image: bytes, n: int,
               timeout_s: float = 300) -> list[tuple[int, str, str]]:
    """``n`` simultaneous file-mode requests, spread round-robin over ``urls``:
    (HTTP status, errorCode, Retry-After) of each."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        # Warm each process's credential cache with a request that stops after
        # authentication (errorCode 6), so 200 cold scrypt checks do not dominate.
        for url in urls:
            r = await client.post(f"{url}?format_type=file", auth=auth, json={})
            assert r.json()["errorCode"] == "6"
        start = asyncio.Event()

        async def one(i: int) -> tuple[int, str, str]:
            await start.wait()
            r = await client.post(f"{urls[i % len(urls)]}?type1=portrait&format_type=file", auth=auth,
                                  files={"img1": ("a.jpg", image), "img2": ("b.jpg", image)})
            return r.status_code, r.json()["errorCode"], r.headers.get("retry-after", "")

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)
