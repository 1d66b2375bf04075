"""Memory of a serving process: RSS and USS at idle, after warm-up and under sustained load.

    .venv/bin/python -m benchmarks.memory [--workers 1 2 4] [--load-s 60] [--processes 1]
                                          [--out benchmarks/results/memory.json]

For each worker count W (``FACEMATCH_WORKERS``: requests matched at once, each
with a side thread for its second image, so 2 W matching threads) it starts a
real ``facematch serve`` (``python -m facematch.cli serve``, which applies
``memory.tune_malloc`` as a deployment does) on a free 127.0.0.1 port with a
temporary data directory and one unlimited key, then measures each serving
process with psutil (RSS, and USS: the pages no other process shares):

1. ``idle``: 3 s after it first answers /healthz, before any match;
2. ``warm``: after 4 rounds of the image pairs one at a time and 2 rounds
   with 2 W clients at once (every matching thread has run);
3. ``load``: 2 W clients in a closed loop for ``--load-s`` seconds (every
   matching thread busy all the time), sampled every 2 s: the highest and the
   last sample, and the serving processes' CPU time (user + system) per request;
4. ``after``: 5 s after the load.

Requests are real multipart matches (``img1`` card photo, ``img2``
portrait). The images are read from ``../shared/data`` (the development data;
phone photos of mock ID cards, 1080x1920 to 3039x1880, and portraits up to
1080p) when it exists; otherwise (said in the output) they are generated from
scikit-image's astronaut (public domain), scaled to phone-photo sizes. Every
response must be HTTP 200 with errorCode 0 or a 4xx/2xx result the same pair
gave in warm-up; any 5xx counts as a failure (exit status 1). The client runs
on the same machine, so it shares the CPU; memory figures depend little on that.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PATH = "/api/v2/ekyc/face_matching"
MIB = 2**20

#: (card photo, portrait) pairs under DATA: real phone photos of mock cards and real portraits.
PAIRS = [
    ("documents/mock_id_photos/fantasyid/iphone15pro_portugal-066_03.jpg", "sanity/examples/obama-1080p.jpg"),
    ("documents/mock_id_photos/midv500_a/02_02_06.png", "sanity/examples/biden.jpg"),
    ("documents/mock_id_photos/fantasyid/huawei_turkiye-NF-1054.jpg", "sanity/examples/knn_examples/test/obama1.jpg"),
    ("documents/mock_id_photos/midv500_a/14_14_06.png", "sanity/examples/obama-720p.jpg"),
]


def images() -> tuple[list[tuple[str, bytes, str, bytes]], str]:
    """The request pairs (names and bytes) and where they came from."""
    if all((DATA / a).is_file() and (DATA / b).is_file() for a, b in PAIRS):
        return [(a, (DATA / a).read_bytes(), b, (DATA / b).read_bytes()) for a, b in PAIRS], str(DATA)
    from PIL import Image
    from skimage import data

    face = Image.fromarray(data.astronaut())

    def jpeg(size: tuple[int, int], mirror: bool) -> bytes:
        img = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirror else face
        canvas = Image.new("RGB", size, (200, 200, 190))
        side = min(size) * 2 // 3
        canvas.paste(img.resize((side, side)), ((size[0] - side) // 2, (size[1] - side) // 2))
        buf = io.BytesIO()
        canvas.save(buf, "JPEG", quality=90)
        return buf.getvalue()

    pairs = [("astronaut_3024x4032.jpg", jpeg((3024, 4032), False), "astronaut_1920x1080.jpg",
              jpeg((1920, 1080), True)),
             ("astronaut_1080x1920.jpg", jpeg((1080, 1920), False), "astronaut_1280x720.jpg",
              jpeg((1280, 720), True))]
    return pairs, f"{DATA} absent: generated from skimage.data.astronaut()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def measure(procs: list[psutil.Process]) -> list[dict[str, float]]:
    out = []
    for p in procs:
        info = p.memory_full_info()
        out.append({"rss_mib": round(info.rss / MIB, 1), "uss_mib": round(info.uss / MIB, 1),
                    "threads": p.num_threads()})
    return out


def serving_processes(server: subprocess.Popen[bytes], processes: int) -> list[psutil.Process]:
    """The processes that serve: the server itself, or its ``processes`` uvicorn workers."""
    root = psutil.Process(server.pid)
    if processes == 1:
        return [root]
    return [c for c in root.children(recursive=True) if "multiprocessing" not in " ".join(c.cmdline())
            or "spawn_main" in " ".join(c.cmdline())][-processes:]


class Clients:
    def __init__(self, url: str, auth: tuple[str, str], pairs: list[tuple[str, bytes, str, bytes]]) -> None:
        self.url, self.auth, self.pairs = url, auth, pairs
        self.expected: dict[int, str] = {}
        self.outcomes: dict[str, int] = {}
        self.failures: list[str] = []
        self.done = 0

    async def one(self, client: httpx.AsyncClient, i: int) -> None:
        a, img1, b, img2 = self.pairs[i % len(self.pairs)]
        r = await client.post(self.url, auth=self.auth, files={"img1": (Path(a).name, img1),
                                                               "img2": (Path(b).name, img2)})
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        key = f"{r.status_code}/{body.get('errorCode')}"
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        self.done += 1
        seen = self.expected.setdefault(i % len(self.pairs), key)
        if (r.status_code >= 500 or seen != key) and len(self.failures) < 20:
            self.failures.append(f"pair {i % len(self.pairs)}: {key} (first {seen}): {r.text[:200]}")

    async def rounds(self, concurrency: int, rounds: int) -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            for _ in range(rounds):
                await asyncio.gather(*(self.one(client, i) for i in range(concurrency)))

    async def closed_loop(self, concurrency: int, seconds: float,
                          sample: Callable[[], list[dict]]) -> list[list[dict]]:
        end = time.monotonic() + seconds
        samples: list[list[dict]] = []

        async def client_loop(c: int, client: httpx.AsyncClient) -> None:
            i = c
            while time.monotonic() < end:
                await self.one(client, i)
                i += concurrency

        async def sampler() -> None:
            while time.monotonic() < end:
                await asyncio.sleep(2.0)
                samples.append(await asyncio.to_thread(sample))

        async with httpx.AsyncClient(timeout=120) as client:
            await asyncio.gather(sampler(), *(client_loop(c, client) for c in range(concurrency)))
        return samples


def run_config(workers: int, processes: int, load_s: float, pairs: list[tuple[str, bytes, str, bytes]],
               env_extra: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="facematch-memory-") as tmp:
        env = {**os.environ, "FACEMATCH_DATA_DIR": tmp, "FACEMATCH_DEMO_KEY": "false",
               "FACEMATCH_WORKERS": str(workers), **env_extra}
        key = json.loads(subprocess.run([sys.executable, "-m", "facematch.cli", "keys", "create", "--json",
                                         "--data-dir", tmp, "--label", "memory"],
                                        env=env, check=True, capture_output=True, text=True).stdout)
        auth = (key["api_key"], key["api_secret"])
        port = free_port()
        command = [sys.executable, "-m", "facematch.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--data-dir", tmp, "--processes", str(processes)]
        log = open(Path(tmp) / "serve.log", "wb")
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start:\n{(Path(tmp) / 'serve.log').read_text()[-3000:]}")
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200 and (
                            processes == 1 or (Path(tmp) / "serve.log").read_text().count(
                                "Application startup complete") >= processes):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            procs = serving_processes(server, processes)
            time.sleep(3)
            result: dict = {"workers": workers, "processes": processes, "matching_threads": 2 * workers,
                            "idle": measure(procs)}
            clients = Clients(base + PATH, auth, pairs)
            t0 = time.monotonic()
            asyncio.run(clients.rounds(1, 4 * len(pairs)))
            asyncio.run(clients.rounds(2 * workers * processes, 2))
            result["warm"] = measure(procs)
            result["warm_up_requests"] = clients.done
            result["warm_up_s"] = round(time.monotonic() - t0, 1)
            before = clients.done
            cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
            t0 = time.monotonic()
            samples = asyncio.run(clients.closed_loop(2 * workers * processes, load_s, lambda: measure(procs)))
            wall = time.monotonic() - t0
            cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
            result["load"] = {
                "clients": 2 * workers * processes, "seconds": round(wall, 1), "requests": clients.done - before,
                "requests_per_s": round((clients.done - before) / wall, 2),
                "server_cpu_ms_per_request": round(1000 * cpu / max(1, clients.done - before), 1),
                "max": [{"rss_mib": max(s[i]["rss_mib"] for s in samples),
                         "uss_mib": max(s[i]["uss_mib"] for s in samples)} for i in range(len(procs))],
                "last": samples[-1], "samples_rss_mib": [[s[i]["rss_mib"] for s in samples]
                                                          for i in range(len(procs))]}
            time.sleep(5)
            result["after"] = measure(procs)
            result["outcomes"] = clients.outcomes
            result["outcome_per_pair"] = {str(k): v for k, v in clients.expected.items()}
            result["failures"] = clients.failures
            return result
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "HEAD")
    return commit + ("+uncommitted" if git("status", "--porcelain", "--", "src") else "")


def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "platform": platform.platform()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="FACEMATCH_WORKERS values")
    ap.add_argument("--processes", type=int, default=1, help="facematch serve --processes")
    ap.add_argument("--load-s", type=float, default=60.0)
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for the server (A/B runs)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "memory.json")
    args = ap.parse_args()
    env_extra = dict(e.split("=", 1) for e in args.env)
    pairs, source = images()
    out: dict = {"benchmark": "benchmarks/memory.py",
                 "command": " ".join(["python -m benchmarks.memory", *map(shlex.quote, sys.argv[1:])]),
                 "commit": git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "machine": machine(), "images": source,
                 "pairs": [[a, b] for a, _, b, _ in pairs], "server_env": env_extra, "configs": []}
    ok = True
    for w in args.workers:
        r = run_config(w, args.processes, args.load_s, pairs, env_extra)
        out["configs"].append(r)
        ok &= not r["failures"]
        rows = [f"W={w} P={args.processes}: idle {r['idle']}", f"  warm {r['warm']}",
                f"  load max {r['load']['max']} ({r['load']['requests_per_s']} req/s)", f"  after {r['after']}",
                f"  outcomes {r['outcomes']} failures {len(r['failures'])}"]
        print("\n".join(rows), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
