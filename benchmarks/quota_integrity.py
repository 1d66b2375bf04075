"""Quota integrity with the real matcher: 200 concurrent requests against a
quota of 50, split over two `facematch serve` processes sharing one database,
must give exactly 50 successes and a counter of exactly 50 -- with SQLite and,
when a server is given, PostgreSQL.

    .venv/bin/python -m benchmarks.quota_integrity [--requests 200] [--quota 50]
        [--postgres-url URL]   (default: $FACEMATCH_TEST_POSTGRES_URL; skipped when neither is set)
        [--out benchmarks/results/quota_integrity.json]

Each process runs with FACEMATCH_WORKERS=1 and a queue large enough to admit
every request (so none is refused with 503 and the race is at its widest:
every request passes the quota pre-check before the first one is charged).
The images are small generated ones (the scikit-image astronaut at 128 px).
``tests/store/test_quota_two_processes.py`` is the fast version in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import cv2
from PIL import Image

from benchmarks.machine import describe, write_result
from tools.service_proc import Service, fire, free_port, serve_command

ROOT = Path(__file__).resolve().parents[1]


def small_face() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(cv2.resize(data.astronaut(), (128, 128))).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def run(db_url: str, work: Path, requests: int, quota: int, image: bytes) -> dict:
    from facematch.store import open_store

    store = open_store(db_url)
    info, secret = store.create_key(quota=quota, label="quota-integrity")
    env = {"FACEMATCH_DATABASE_URL": db_url, "FACEMATCH_DATA_DIR": str(work), "FACEMATCH_WORKERS": "1",
           "FACEMATCH_QUEUE_LIMIT": str(requests), "FACEMATCH_REQUEST_DEADLINE_S": "300",
           "FACEMATCH_LOG_LEVEL": "WARNING"}
    services = []
    try:
        for n in range(2):
            port = free_port()
            services.append(Service(serve_command(port), port, env, work / f"service{n}.log").launch())
        for s in services:
            s.wait_ready()
        t0 = time.monotonic()
        results = asyncio.run(fire([s.url for s in services], (info.api_key, secret), image, requests))
        elapsed = time.monotonic() - t0
        used = store.get(info.api_key).used
    finally:
        for s in services:
            s.stop()
        if hasattr(store, "close"):
            store.close()
    outcomes = Counter(f"{status}/{code}" for status, code, _ in results)
    return {"requests": requests, "quota": quota, "processes": 2, "seconds": round(elapsed, 1),
            "successes": outcomes.get("200/0", 0), "out_of_requests": outcomes.get("429/4", 0),
            "other": {k: v for k, v in outcomes.items() if k not in ("200/0", "429/4")}, "counter": used,
            "exact": outcomes.get("200/0", 0) == quota and used == quota
            and outcomes.get("429/4", 0) == requests - quota}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--quota", type=int, default=50)
    ap.add_argument("--postgres-url", default=os.environ.get("FACEMATCH_TEST_POSTGRES_URL", ""))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/quota_integrity.json")
    args = ap.parse_args()
    image = small_face()
    result: dict = {"machine": describe(), "command": "python " + " ".join(sys.argv[:1] + [
        a for a in sys.argv[1:] if "://" not in a]), "backends": {}}
    with tempfile.TemporaryDirectory(prefix="fm-quota-") as tmp:
        work = Path(tmp)
        result["backends"]["sqlite"] = run(f"sqlite:///{work / 'facematch.db'}", work, args.requests, args.quota, image)
        print("sqlite:", json.dumps(result["backends"]["sqlite"]), flush=True)
        if args.postgres_url:
            import psycopg

            schema = f"quota_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                sep = "&" if "?" in args.postgres_url else "?"
                url = f"{args.postgres_url}{sep}options={quote(f'-csearch_path={schema}')}"
                result["backends"]["postgresql"] = run(url, work, args.requests, args.quota, image)
            finally:
                with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                    result["postgresql_version"] = conn.execute("SHOW server_version").fetchone()[0]
            print("postgresql:", json.dumps(result["backends"]["postgresql"]), flush=True)
        else:
            print("postgresql: skipped (no --postgres-url / FACEMATCH_TEST_POSTGRES_URL)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0 if all(b["exact"] for b in result["backends"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
