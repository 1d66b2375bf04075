"""Latency of one match at a time: the in-process core against a real
`facematch serve` over loopback, multipart and base64 JSON, side by side in
one run, on the same pair.

    python -m benchmarks.latency [--requests 60] [--out benchmarks/results/latency.json]
    python -m benchmarks.latency --networks sface-2021dec,dlib-resnet-v1 --rounds 3 \
        --out benchmarks/results/latency_networks.json

Run from the repository root with the project's virtual environment
(``.venv/bin/python -m benchmarks.latency``).

The default run starts `facematch serve` (1 process, default settings) on a
free loopback port with a temporary data dir and builds the same matcher in
this process (``build_matcher(Settings())``: the server's configuration, two
images on two threads). Then, for each of ``--warmup`` + ``--requests``
rounds, in an order that rotates every round, it times:

- ``core``: ``Matcher.match(card, selfie)`` in this process (decode, detect,
  align, embed, checks, score: no HTTP, no envelope);
- ``multipart``: one POST ``format_type=file``;
- ``base64``: one POST ``format_type=base64`` (JSON, ``base64.encodebytes``
  strings, as the typical client sends them);
- ``healthz``: one GET ``/healthz``: the floor of this client and the server's
  HTTP stack.

The client is ``http.client`` on one keep-alive connection with the request
bodies encoded once, beforehand: its own cost is sending ~0.6-0.8 MB over
loopback and reading the ~50 KB answer. Every answer must be errorCode 0.
The server's own JSON request log (``facematch.api``: total and per-span
milliseconds) is read from its stderr and joined by request id, so the JSON
also says where the server's time went.

With ``--networks`` it is an A/B run instead: the service is started once per
network and round (``FACEMATCH_MODELS__EMBEDDER``), alternating, and each
start's multipart latency and the serving process's resident memory after
the requests are recorded, with the in-process stage breakdown per network.

The inputs are generated (``benchmarks/inputs.py``), never read from
``../shared``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.inputs import card_and_selfie
from benchmarks.machine import describe, write_result

ROOT = Path(__file__).resolve().parents[1]
PATH = "/api/v2/ekyc/face_matching"
KEEP_ALIVE_S = 3.0  # reconnect (untimed) after this long idle: uvicorn closes keep-alive connections after 5 s
INPUTS = {"card": "1600x1200 JPEG q90 (synthetic card photo)", "selfie": "1280x960 JPEG q90 (synthetic selfie)"}


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(values, 50), "p90_ms": pct(values, 90), "p95_ms": pct(values, 95),
            "min_ms": round(min(values), 1), "mean_ms": round(statistics.fmean(values), 1), "n": len(values)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(changed)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Server:
    """`facematch serve` in a subprocess on a free loopback port, a temporary
    data dir and an unlimited demo key; its JSON request log kept by id."""

    def __init__(self, extra_env: dict[str, str] | None = None, serve_args: list[str] | None = None) -> None:
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="fm-bench-")
        env = {**os.environ, **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "facematch.cli", "serve", "--port", str(self.port), "--data-dir", self.data_dir,
             "--demo-quota", "unlimited", *(serve_args or [])], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stderr is not None
        log = ""
        while "Uvicorn running" not in log and self.proc.poll() is None:
            log += self.proc.stderr.readline()
        if self.proc.poll() is not None:
            raise RuntimeError(f"facematch serve exited:\n{log}")
        key = re.search(r"api_key\s+= (\S+)", log)
        secret = re.search(r"api_secret = (\S+)", log)
        assert key and secret, log
        self.authorization = "Basic " + base64.b64encode(f"{key.group(1)}:{secret.group(1)}".encode()).decode()
        self.requests: dict[str, dict[str, Any]] = {}
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if '"msg": "request"' not in line:
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if "request_id" in doc:
                self.requests[doc["request_id"]] = doc

    def rss_mib(self) -> list[int]:
        import psutil

        main = psutil.Process(self.proc.pid)
        return [round(p.memory_info().rss / 2**20) for p in (main, *main.children(recursive=True))]

    def minor_faults(self) -> int:
        """The serving process's minor page faults so far (Linux ``/proc``; 0 elsewhere)."""
        try:
            return int(Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[7])
        except (OSError, IndexError, ValueError):
            return 0

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Client:
    """``http.client`` on one keep-alive loopback connection; bodies come pre-encoded."""

    def __init__(self, port: int, authorization: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.authorization = authorization
        self.last = 0.0

    def send(self, method: str, path: str, body: bytes | None = None, ctype: str | None = None,
             ) -> tuple[float, int, bytes, str]:
        headers = {"Authorization": self.authorization}
        if ctype:
            headers["Content-Type"] = ctype
        if time.monotonic() - self.last > KEEP_ALIVE_S:  # the server closes idle connections (uvicorn: 5 s)
            self.conn.close()
            self.conn.connect()  # untimed
        for attempt in range(2):
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                if attempt:
                    raise
                self.conn.close()
                self.conn.connect()
        ms = (time.perf_counter() - t0) * 1000
        self.last = time.monotonic()
        return ms, response.status, data, response.getheader("X-Request-ID", "")

    def close(self) -> None:
        self.conn.close()


def multipart_body(card: bytes, selfie: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, filename, data in (("img1", "card.jpg", card), ("img2", "selfie.jpg", selfie)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def json_body(card: bytes, selfie: bytes) -> bytes:
    return json.dumps({"img1": base64.encodebytes(card).decode(), "img2": base64.encodebytes(selfie).decode()}).encode()


def request_senders(client: Client, card: bytes, selfie: bytes) -> dict[str, Callable[[], tuple[float, int, bytes, str]]]:
    mp, mp_type = multipart_body(card, selfie)
    js = json_body(card, selfie)
    return {
        "multipart": lambda: client.send("POST", f"{PATH}?type1=card&format_type=file", mp, mp_type),
        "base64": lambda: client.send("POST", f"{PATH}?type1=card&format_type=base64", js, "application/json"),
    }


def check(status: int, data: bytes) -> dict[str, Any]:
    doc = json.loads(data)
    if status != 200 or doc.get("errorCode") != "0":
        raise RuntimeError(f"request failed: HTTP {status}, {data[:300]!r}")
    return doc


def parse_variant(spec: str) -> tuple[str, list[str], str | None]:
    """``NAME[:SERVE ARGS[:PYTHONPATH]]``: a server to start, with extra ``facematch serve`` arguments and,
    to time other code (a checkout of an earlier commit), its ``src`` put first on the server's path."""
    name, _, rest = spec.partition(":")
    args, _, src = rest.partition(":")
    return name, args.split(), src or None


def side_by_side(card: bytes, selfie: bytes, n: int, warmup: int, variants: list[str]) -> dict[str, Any]:
    """Core, then multipart, base64 and healthz on each server variant, interleaved (the order rotates every
    round) for ``warmup + n`` rounds."""
    from facematch import memory
    from facematch.matcher import build_matcher
    from facematch.settings import Settings
    from facematch.types import ImageKind

    memory.tune_malloc()  # as `facematch serve` does (facematch.cli.main), so that the core runs as served
    servers: dict[str, Server] = {}
    clients: dict[str, Client] = {}
    core = build_matcher(Settings())  # what the server runs: default settings, two threads a match
    try:
        for spec in variants:
            name, serve_args, src = parse_variant(spec)
            env = {"PYTHONPATH": src} if src else {}
            servers[name] = Server(env, serve_args)
            clients[name] = Client(servers[name].port, servers[name].authorization)
        prefix = {name: "" if len(servers) == 1 else f"{name}." for name in servers}
        times: dict[str, list[float]] = {"core": []}
        ids: dict[str, list[tuple[str, str, float]]] = {}
        sizes: dict[str, int] = {}
        matching: dict[str, str] = {}
        counting = False
        core_stages: list[dict[str, float]] = []

        def record(mode: str, ms: float) -> None:
            if counting:
                times.setdefault(mode, []).append(ms)

        def run_core() -> None:
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            r = core.match(card, selfie, ImageKind.CARD)
            record("core", (time.perf_counter() - t0) * 1000)
            if counting:
                faults["core"] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            matching["core"] = f"{r.matching:.2f}"
            if counting:
                core_stages.append(r.timings)

        def http_step(name: str, mode: str, send: Callable[[], tuple[float, int, bytes, str]]) -> Callable[[], None]:
            key = prefix[name] + mode

            def step() -> None:
                ms, status, data, rid = send()
                doc = check(status, data)
                record(key, ms)
                if counting:
                    ids.setdefault(key, []).append((name, rid, ms))
                sizes[key] = len(data)
                matching[key] = doc["data"]["matching"]
            return step

        def healthz_step(name: str) -> Callable[[], None]:
            def step() -> None:
                ms, status, _, _ = clients[name].send("GET", "/healthz")
                assert status == 200
                record(prefix[name] + "healthz", ms)
            return step

        steps: list[Callable[[], None]] = [run_core]
        for name, client in clients.items():
            senders = request_senders(client, card, selfie)
            steps += [http_step(name, "multipart", senders["multipart"]), http_step(name, "base64", senders["base64"]),
                      healthz_step(name)]
        load_before = load_average()
        faults = {"core": 0}
        for i in range(warmup + n):
            counting = i >= warmup
            if i == warmup:
                faults.update({name: -server.minor_faults() for name, server in servers.items()})
            k = i % len(steps)
            for step in steps[k:] + steps[:k]:
                step()
        load_after = load_average()
        for name, server in servers.items():
            faults[name] += server.minor_faults()
        time.sleep(0.5)  # the last log lines
        rss = {name: server.rss_mib() for name, server in servers.items()}
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.close()
        core.close()
    results = {mode: summary(v) for mode, v in times.items()}
    return {
        "variants": {name: {"serve_args": parse_variant(spec)[1], "pythonpath": parse_variant(spec)[2]}
                     for spec in variants for name in [parse_variant(spec)[0]]},
        "results_ms": results,
        "overhead_p50_ms": {mode: round(r["p50_ms"] - results["core"]["p50_ms"], 1) for mode, r in results.items()
                            if mode != "core" and not mode.endswith("healthz")},
        "server_log_ms": {mode: server_spans([servers[name].requests.get(rid) for name, rid, _ in rows])
                          for mode, rows in ids.items()},
        "paired_overhead_ms": {mode: paired(servers, rows) for mode, rows in ids.items()},
        "stage_medians_ms": {"core": stage_medians(core_stages), **{
            mode: stage_medians([d.get("stages", {}) for name, rid, _ in rows if (d := servers[name].requests.get(rid))])
            for mode, rows in ids.items()}},
        # Minor page faults per match: in this process per core call; in a server per round (its multipart,
        # base64 and healthz requests together, so per match about half of it).
        "minor_faults_per_round": {k: round(v / n) for k, v in faults.items()},
        "response_bytes": sizes, "matching": matching, "server_rss_mib": rss,
        "load_average_1_5_15": {"before": load_before, "after": load_after},
    }


def paired(servers: dict[str, Server], rows: list[tuple[str, str, float]]) -> dict[str, float]:
    """Per request, the client's time less the server's own match (its ``core`` span, on the matching thread):
    everything that is not the core, without the core's run-to-run spread (a loaded machine)."""
    diffs = []
    for name, rid, ms in rows:
        doc = servers[name].requests.get(rid)
        if doc and "core" in doc.get("spans", {}):
            diffs.append(ms - doc["spans"]["core"])
    return summary(diffs) if diffs else {}


def stage_medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Median milliseconds of each matcher stage (``img1.decode``, ...) and of their sum."""
    if not rows:
        return {}
    out = {k: round(statistics.median(r.get(k, 0.0) for r in rows), 2) for k in rows[0]}
    out["sum"] = round(statistics.median(sum(r.values()) for r in rows), 2)
    return out


def server_spans(docs: list[dict[str, Any] | None]) -> dict[str, float]:
    """Medians of the server's own request log: ``ms`` (the whole request as the handler saw it) and each span."""
    found = [d for d in docs if d]
    if not found:
        return {}
    keys = ["ms", *sorted({k for d in found for k in d.get("spans", {})})]
    return {k: round(statistics.median(d["ms"] if k == "ms" else d.get("spans", {}).get(k, 0.0) for d in found), 2)
            for k in keys}


def stage_breakdown(card: bytes, selfie: bytes, n: int) -> dict[str, Any]:
    """The in-process stages, one image after the other (one bundle, no side thread), so that they add up."""
    from facematch.types import ImageKind
    from tools.local import matcher

    m = matcher()
    rows = []
    r = None
    for i in range(n + 3):
        t0 = time.perf_counter()
        r = m.match(card, selfie, ImageKind.CARD)
        total = (time.perf_counter() - t0) * 1000
        if i >= 3:
            rows.append({**r.timings, "total": total})
    stages = {key: round(statistics.median(x.get(key, 0.0) for x in rows), 2) for key in rows[0]}
    merged: dict[str, float] = {}
    for key, v in stages.items():
        name = key.split(".", 1)[-1]
        merged[name] = round(merged.get(name, 0.0) + v, 2)
    assert r is not None
    return {"per_image": stages, "per_request": merged, "matching": round(r.matching, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=60, help="timed rounds (each: core, multipart, base64, healthz)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME[:ARGS[:SRC]]",
                    help="a server to time (repeatable; default one, 'http', as `facematch serve` starts): extra "
                         "serve arguments, and a src folder put first on its PYTHONPATH to time other code")
    ap.add_argument("--stages", type=int, default=0, help="also the in-process stage breakdown over this many runs")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/latency.json"))
    ap.add_argument("--networks", default="", help="comma-separated embedders: an A/B run (see above)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.networks:
        ab(args)
        return
    card, selfie = card_and_selfie()
    result: dict[str, Any] = {
        **commit(), "machine": describe(), "command": "python -m benchmarks.latency " + " ".join(sys.argv[1:]),
        "inputs": {**INPUTS, "card_bytes": len(card), "selfie_bytes": len(selfie)},
        "client": "http.client, one keep-alive loopback connection, bodies encoded beforehand; base64 bodies are "
                  "base64.encodebytes strings in JSON",
        "requests": args.requests, "warmup": args.warmup}
    result.update(side_by_side(card, selfie, args.requests, args.warmup, args.variant or ["http"]))
    for mode, r in result["results_ms"].items():
        print(f"{mode:20s} p50 {r['p50_ms']:7.1f}  p90 {r['p90_ms']:7.1f}  min {r['min_ms']:7.1f} ms", flush=True)
    print("overhead at p50 over the core:", result["overhead_p50_ms"], flush=True)
    print("server log (median ms):", json.dumps(result["server_log_ms"]), flush=True)
    print("paired overhead (client less the server's core span), p50:",
          {m: r.get("p50_ms") for m, r in result["paired_overhead_ms"].items()}, flush=True)
    if args.stages:
        result["stages_ms"] = stage_breakdown(card, selfie, args.stages)
        print("stages (median ms, per request):", result["stages_ms"]["per_request"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result)
    print("wrote", args.out)


def ab(args: argparse.Namespace) -> None:
    """Multipart latency and RSS per network, the services started alternately (``--rounds`` each)."""
    from facematch.matcher import build_matcher
    from facematch.settings import ModelSettings, Settings
    from facematch.types import ImageKind

    card, selfie = card_and_selfie()
    nets = args.networks.split(",")
    result: dict[str, Any] = {**commit(), "machine": describe(),
                              "command": "python -m benchmarks.latency " + " ".join(sys.argv[1:]), "networks": nets,
                              "rounds": [], "stages_ms": {}}
    for net in nets:  # in-process stages, one matcher per network (one bundle, no side thread)
        m = build_matcher(Settings(models=ModelSettings(embedder=net)), pool_size=1, parallel=False)
        rows = []
        for i in range(args.requests + 3):
            r = m.match(card, selfie, ImageKind.CARD)
            if i >= 3:
                rows.append(r.timings)
        m.close()
        result["stages_ms"][net] = {k: round(statistics.median(x[k] for x in rows), 2) for k in rows[0]}
        print(net, "stages:", result["stages_ms"][net], flush=True)
    for r in range(args.rounds):
        for net in nets:
            server = Server({"FACEMATCH_MODELS__EMBEDDER": net})
            client = Client(server.port, server.authorization)
            try:
                send = request_senders(client, card, selfie)["multipart"]
                times = []
                for i in range(args.requests + args.warmup):
                    ms, status, data, _ = send()
                    check(status, data)
                    if i >= args.warmup:
                        times.append(ms)
                rss = server.rss_mib()
            finally:
                client.close()
                server.close()
            result["rounds"].append({"round": r, "network": net, "file": summary(times), "rss_mib_per_process": rss})
            print(r, net, result["rounds"][-1]["file"]["p50_ms"], "ms, RSS MiB", rss, flush=True)
    result["median_of_medians_ms"] = {
        net: round(statistics.median(x["file"]["p50_ms"] for x in result["rounds"] if x["network"] == net), 1)
        for net in nets}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result)
    print("median of medians:", result["median_of_medians_ms"], "wrote", args.out)


if __name__ == "__main__":
    main()
