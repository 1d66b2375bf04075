"""Latency of one match request at a time, end to end over loopback, for each
input mode; the per-stage breakdown in-process; and the peer
(face_recognition with its defaults) on the same two images.

    .venv/bin/python -m benchmarks.latency [--requests 40] [--out benchmarks/results/latency.json]
    .venv/bin/python -m benchmarks.latency --networks sface-2021dec,dlib-resnet-v1 --rounds 3 \
        --out benchmarks/results/latency_networks.json

With ``--networks`` it is an A/B run instead: the service is started once per
network and round (``FACEMATCH_MODELS__EMBEDDER``), alternating, and each
start's file-mode latency and the serving process's resident memory after
the requests are recorded, with the in-process stage breakdown per network.

Starts `facematch serve` on a free loopback port with a temporary data dir,
serves the two images from a loopback HTTP server for the URL mode (allowed
with FACEMATCH_URL_ALLOWLIST=127.0.0.1), and writes JSON with the machine.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.inputs import card_and_selfie
from benchmarks.machine import describe, write_result


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stage_breakdown(card: bytes, selfie: bytes, n: int) -> dict:
    from facematch.types import ImageKind
    from tools.local import matcher

    m = matcher()  # one image after the other, so that the stages add up
    rows = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        r = m.match(card, selfie, ImageKind.CARD)
        total = (time.perf_counter() - t0) * 1000
        if i >= 3:
            rows.append({**r.timings, "total": total})
    stages: dict[str, float] = {}
    for key in rows[0]:
        stages[key] = round(statistics.median(r.get(key, 0.0) for r in rows), 2)
    # Sum per stage over both images.
    merged: dict[str, float] = {}
    for key, v in stages.items():
        name = key.split(".", 1)[-1]
        merged[name] = round(merged.get(name, 0.0) + v, 2)
    return {"per_image": stages, "per_request": merged, "matching": round(r.matching, 2)}


def run_peer(*args: str) -> dict | None:
    """The peer in its own interpreter (see peer_worker.py); None when not installed."""
    root = Path(__file__).resolve().parent
    python = root.parent / ".venv-peer" / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run([str(python), str(root / "peer_worker.py"), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer(card: bytes, selfie: bytes, n: int) -> dict | None:
    with tempfile.TemporaryDirectory() as d:
        paths = [Path(d) / "card.jpg", Path(d) / "selfie.jpg"]
        paths[0].write_bytes(card)
        paths[1].write_bytes(selfie)
        return run_peer("latency", str(n), str(paths[0]), str(paths[1]))


def serve_files(files: dict[str, bytes]) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def end_to_end(card: bytes, selfie: bytes, n: int, extra_env: dict[str, str], modes_wanted: tuple[str, ...] = (),
               ) -> dict:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="fm-bench-")
    env = {**os.environ, "FACEMATCH_URL_ALLOWLIST": "127.0.0.1", **extra_env}
    proc = subprocess.Popen([sys.executable, "-m", "facematch.cli", "serve", "--port", str(port), "--data-dir", data_dir,
                             "--demo-quota", "unlimited"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env)
    log = ""
    while "Uvicorn running" not in log and proc.poll() is None:
        log += proc.stderr.readline()
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # drain
    auth = (re.search(r"api_key\s+= (\S+)", log).group(1), re.search(r"api_secret = (\S+)", log).group(1))
    files_server, files_port = serve_files({"/card.jpg": card, "/selfie.jpg": selfie})
    url = f"http://127.0.0.1:{port}/api/v2/ekyc/face_matching"
    b64 = {"img1": base64.encodebytes(card).decode(), "img2": base64.encodebytes(selfie).decode()}
    modes = {
        "file": lambda c: c.post(f"{url}?type1=card&format_type=file", auth=auth,
                                 files={"img1": ("card.jpg", card), "img2": ("selfie.jpg", selfie)}),
        "base64": lambda c: c.post(f"{url}?type1=card&format_type=base64", auth=auth, json=b64),
        "url": lambda c: c.get(url, auth=auth, params={
            "img1": f"http://127.0.0.1:{files_port}/card.jpg", "img2": f"http://127.0.0.1:{files_port}/selfie.jpg",
            "type1": "card", "format_type": "url"}),
    }
    out: dict = {}
    try:
        with httpx.Client(timeout=60) as c:
            for mode, send in modes.items():
                if modes_wanted and mode not in modes_wanted:
                    continue
                times = []
                for i in range(n + 5):
                    t0 = time.perf_counter()
                    r = send(c)
                    dt = (time.perf_counter() - t0) * 1000
                    body = r.json()
                    assert body["errorCode"] == "0", body
                    if i >= 5:
                        times.append(dt)
                out[mode] = {"median_ms": round(statistics.median(times), 1), "p95_ms": round(pct(times, 95), 1),
                             "min_ms": round(min(times), 1), "requests": n, "matching": body["data"]["matching"],
                             "invalidCode": body["data"]["invalidCode"]}
                print(f"{mode:7s} median {out[mode]['median_ms']:7.1f} ms  p95 {out[mode]['p95_ms']:7.1f} ms", flush=True)
        import psutil

        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        out["rss_mib_per_process"] = [round(p.memory_info().rss / 2**20) for p in procs]
    finally:
        proc.terminate()
        proc.wait(10)
        files_server.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--peer-runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/latency.json"))
    ap.add_argument("--networks", default="", help="comma-separated embedders: an A/B run (see above)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.networks:
        ab(args)
        return
    card, selfie = card_and_selfie()
    result = {"machine": describe(), "inputs": {"card": "1600x1200 JPEG q90 (synthetic card photo)",
                                               "selfie": "1280x960 JPEG q90 (synthetic selfie)",
                                               "card_bytes": len(card), "selfie_bytes": len(selfie)},
              "command": "python " + " ".join(sys.argv)}
    result["stages_ms"] = stage_breakdown(card, selfie, args.requests)
    print("stages (median ms, per request):", result["stages_ms"]["per_request"], flush=True)
    result["end_to_end"] = end_to_end(card, selfie, args.requests, {})
    result["peer"] = peer(card, selfie, args.peer_runs)
    if result["peer"]:
        print("peer median", result["peer"]["median_ms"], "ms", flush=True)
        result["peer"]["ratio_vs_file_mode"] = round(result["peer"]["median_ms"] / result["end_to_end"]["file"]["median_ms"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out)


def ab(args: argparse.Namespace) -> None:
    """File-mode latency and RSS per network, the services started alternately (``--rounds`` each)."""
    card, selfie = card_and_selfie()
    nets = args.networks.split(",")
    result: dict = {"machine": describe(), "command": "python " + " ".join(sys.argv), "networks": nets,
                    "rounds": [], "stages_ms": {}}
    for net in nets:  # in-process stages, one matcher per network (one bundle, no side thread)
        from facematch.matcher import build_matcher
        from facematch.settings import ModelSettings, Settings
        from facematch.types import ImageKind

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
            out = end_to_end(card, selfie, args.requests, {"FACEMATCH_MODELS__EMBEDDER": net}, ("file",))
            result["rounds"].append({"round": r, "network": net, **out})
            print(r, net, out["file"]["median_ms"], "ms, RSS MiB", out["rss_mib_per_process"], flush=True)
    result["median_of_medians_ms"] = {
        net: round(statistics.median(x["file"]["median_ms"] for x in result["rounds"] if x["network"] == net), 1)
        for net in nets}
    result["p95_median_ms"] = {
        net: round(statistics.median(x["file"]["p95_ms"] for x in result["rounds"] if x["network"] == net), 1)
        for net in nets}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("median of medians:", result["median_of_medians_ms"], "wrote", args.out)


if __name__ == "__main__":
    main()
