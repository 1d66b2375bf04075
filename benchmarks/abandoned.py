"""Work past the request deadline: how long the service stays busy, and the CPU it spends, after it has
answered 503.

    .venv/bin/python -m benchmarks.abandoned [--requests 30] [--deadline 0.05] [--src OTHER/src]
                                             [--out benchmarks/results/abandoned.json]

Starts `facematch serve` with one matching thread and no queue (FACEMATCH_WORKERS=1,
FACEMATCH_QUEUE_LIMIT=0) and a request deadline shorter than the work (--deadline seconds), and sends,
one at a time, a card photo of 4800x3600 px (JPEG, `benchmarks/inputs.py`'s card scaled 3x, about 150 ms of
matching on this VM) with the usual selfie. Each is answered 503 at the deadline. Right after that answer,
the driver asks every 5 ms with a request that is admitted and then fails at once (an unreadable multipart
body, errorCode 1): while the abandoned work still holds the only slot, those get 503 too. Reported per
request: the time from the 503 until the service admits again ("busy after the answer"), and the server
process's CPU time over the request and that wait. A second run with a 30 s deadline gives the whole
match's CPU for comparison. `--src` runs the server on another checkout's `src` (before/after).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import psutil
from PIL import Image

from benchmarks.inputs import card_and_selfie, jpeg
from benchmarks.load import pct
from benchmarks.machine import describe, write_result
from tools.service_proc import ROOT, Service, free_port, serve_command


def heavy_card() -> tuple[bytes, bytes]:
    card, selfie = card_and_selfie()
    rgb = np.asarray(Image.open(io.BytesIO(card)).convert("RGB"))
    return jpeg(cv2.resize(rgb, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)), selfie


def cpu_s(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def run(deadline: float, n: int, src: str | None, files: dict, data_dir: Path) -> dict:
    from facematch.store import open_store

    store = open_store(f"sqlite:///{data_dir / 'facematch.db'}")
    info, secret = store.create_key(quota=None)
    auth = (info.api_key, secret)
    env = {"FACEMATCH_DATA_DIR": str(data_dir), "FACEMATCH_WORKERS": "1", "FACEMATCH_QUEUE_LIMIT": "0",
           "FACEMATCH_REQUEST_DEADLINE_S": str(deadline), "FACEMATCH_LOG_LEVEL": "WARNING"}
    if src:
        env["PYTHONPATH"] = f"{Path(src).resolve()}{os.pathsep}{ROOT}"
    port = free_port()
    busy, cpu, codes = [], [], {}
    bad = {"content-type": "multipart/form-data; boundary=x"}
    with Service(serve_command(port), port, env, data_dir / f"service-{deadline}.log").start() as svc:
        url = f"{svc.url}?type1=card&format_type=file"
        pid = svc.proc.pid
        with httpx.Client(timeout=60) as c:
            for _ in range(3):  # warm: models, the credential cache
                c.post(url, auth=auth, files=files)
                time.sleep(0.5)
            for _ in range(n):
                c0 = cpu_s(pid)
                r = c.post(url, auth=auth, files=files)
                t1 = time.monotonic()
                codes[r.json()["errorCode"]] = codes.get(r.json()["errorCode"], 0) + 1
                while c.post(url, auth=auth, content=b"--x\r\nnot multipart", headers=bad).status_code == 503:
                    time.sleep(0.005)
                busy.append((time.monotonic() - t1) * 1000.0)
                time.sleep(0.05)  # the probe's own work done
                cpu.append((cpu_s(pid) - c0) * 1000.0)
    return {"deadline_s": deadline, "requests": n, "error_codes": codes,
            "busy_after_answer_ms": {"p50": pct(busy, 50), "p90": pct(busy, 90), "max": round(max(busy), 1)},
            "server_cpu_ms_per_request": {"p50": pct(cpu, 50), "p90": pct(cpu, 90)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--deadline", type=float, default=0.05)
    ap.add_argument("--src", help="another checkout's src directory, put first on the server's PYTHONPATH")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/abandoned.json")
    args = ap.parse_args()
    card, selfie = heavy_card()
    files = {"img1": ("card.jpg", card, "image/jpeg"), "img2": ("selfie.jpg", selfie, "image/jpeg")}
    data_dir = Path(tempfile.mkdtemp(prefix="fm-abandon-"))
    result = {"machine": describe(), "command": "python -m benchmarks.abandoned " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if v is not None and k != "out"), "src": args.src or "src",
        "card_bytes": len(card), "runs": [run(d, args.requests, args.src, files, data_dir)
                                          for d in (args.deadline, 30.0)]}
    for r in result["runs"]:
        print(r, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
