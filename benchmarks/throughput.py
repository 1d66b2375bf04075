"""Throughput at saturation: image pairs per second with N concurrent clients
on loopback, resident memory per worker process, and the peer
(face_recognition with its defaults, one process per core) on the same two
images in the same run.

    .venv/bin/python -m benchmarks.throughput [--seconds 30] [--clients 4] [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.inputs import card_and_selfie
from benchmarks.latency import free_port
from benchmarks.machine import describe, write_result


def run_peer(*args: str) -> dict | None:
    """The peer in its own interpreter (see peer_worker.py); None when not installed."""
    root = Path(__file__).resolve().parent
    python = root.parent / ".venv-peer" / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run([str(python), str(root / "peer_worker.py"), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])



async def drive(url: str, auth, card: bytes, selfie: bytes, clients: int, seconds: float) -> dict:
    codes: dict[str, int] = {}
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client(c: httpx.AsyncClient):
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            r = await c.post(f"{url}?type1=card&format_type=file", auth=auth,
                             files={"img1": ("card.jpg", card), "img2": ("selfie.jpg", selfie)})
            latencies.append((time.perf_counter() - t0) * 1000)
            key = f"{r.status_code}/{r.json().get('errorCode')}"
            codes[key] = codes.get(key, 0) + 1

    async with httpx.AsyncClient(timeout=120) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*[client(c) for _ in range(clients)])
        elapsed = time.perf_counter() - t0
    ok = codes.get("200/0", 0)
    return {"clients": clients, "seconds": round(elapsed, 1), "responses": codes, "pairs_per_s": round(ok / elapsed, 2),
            "latency_median_ms": round(statistics.median(latencies), 1),
            "latency_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 1)}


def worker_rss_mb(pid: int) -> list[float]:
    """RSS of each worker: uvicorn's spawned workers, or the server itself when single-process."""
    parent = psutil.Process(pid)
    workers = [p for p in parent.children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
    return [round(p.memory_info().rss / 2**20, 1) for p in (workers or [parent])]


def peer_throughput(card: bytes, selfie: bytes, seconds: float, processes: int) -> dict | None:
    with tempfile.TemporaryDirectory() as d:
        paths = [Path(d) / "card.jpg", Path(d) / "selfie.jpg"]
        paths[0].write_bytes(card)
        paths[1].write_bytes(selfie)
        return run_peer("throughput", str(seconds), str(processes), str(paths[0]), str(paths[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--threads", type=int, default=1, help="FACEMATCH_WORKERS per process")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = ap.parse_args()
    card, selfie = card_and_selfie()
    port = free_port()
    env = {**os.environ, "FACEMATCH_WORKERS": str(args.threads), "FACEMATCH_QUEUE_LIMIT": str(4 * args.clients)}
    proc = subprocess.Popen([sys.executable, "-m", "facematch.cli", "serve", "--port", str(port), "--data-dir",
                             tempfile.mkdtemp(prefix="fm-tp-"), "--demo-quota", "unlimited", "--processes",
                             str(args.processes)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    log = ""
    while "facematch: serving" not in log and proc.poll() is None:
        log += proc.stderr.readline()  # the demo key comes before this line
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # every worker process loads its models before it listens
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    auth = (re.search(r"api_key\s+= (\S+)", log).group(1), re.search(r"api_secret = (\S+)", log).group(1))
    url = f"http://127.0.0.1:{port}/api/v2/ekyc/face_matching"
    try:
        asyncio.run(drive(url, auth, card, selfie, args.clients, 5))  # warm up every worker
        rss_before = worker_rss_mb(proc.pid)
        ours = asyncio.run(drive(url, auth, card, selfie, args.clients, args.seconds))
        ours["rss_mb_per_process_after"] = worker_rss_mb(proc.pid)
        ours["rss_mb_per_process_after_warmup"] = rss_before
        ours["processes"], ours["threads_per_process"] = args.processes, args.threads
        print("facematch:", json.dumps(ours), flush=True)
    finally:
        proc.terminate()
        proc.wait(20)
    peer = peer_throughput(card, selfie, args.seconds, args.processes)
    if peer:
        print("peer:", json.dumps(peer), flush=True)
    result = {"machine": describe(), "command": "python " + " ".join(sys.argv), "facematch": ours, "peer": peer,
              "ratio": round(ours["pairs_per_s"] / peer["pairs_per_s"], 1) if peer and peer["pairs_per_s"] else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out, "ratio", result["ratio"])


if __name__ == "__main__":
    main()
