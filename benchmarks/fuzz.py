"""Property-based fuzz of the face_matching API: at least 10,000 generated
requests, zero 5xx and zero tracebacks expected.

    .venv/bin/python -m benchmarks.fuzz [--requests 10000] [--seed N] [--out benchmarks/results/fuzz.json]

The app is the real one (real models, SQLite key store, every check) served
in-process through its ASGI interface, with the outside world injected as in
the tests: an httpx MockTransport stands for the internet and a stub resolver
for DNS, so URL-mode requests never leave the process. Requests come from
``tools/hostile/fuzz_requests.py`` (hypothesis strategies built from valid,
hostile and malformed seeds, then mutated). Every answer is checked: HTTP
status < 500, no traceback in the body, the v2 envelope with a known
errorCode and the HTTP status that belongs to it. Problems are recorded (not
shrunk) and the run goes on; exit status 1 if there was any.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/fuzz.json")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)

    import io

    import cv2
    import httpx
    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis import strategies as st
    from PIL import Image
    from skimage import data

    from benchmarks.machine import describe, write_result
    from facematch.api.app import create_app
    from facematch.models.registry import build_pool
    from facematch.settings import ModelSettings, Settings
    from facematch.store.sqlite import SqliteKeyStore
    from tools.hostile.fakes import Internet, StubDNS
    from tools.hostile.fuzz_requests import (
        blank_png,
        check_response,
        fuzz_internet_routes,
        mutated,
        requests,
        seed_images,
    )

    face = cv2.resize(data.astronaut(), (128, 128))
    buf = io.BytesIO()
    Image.fromarray(face).save(buf, "JPEG", quality=90)
    tmp = Path(tempfile.mkdtemp(prefix="fm-fuzz-"))
    store = SqliteKeyStore(tmp / "keys.db")
    info, secret = store.create_key(quota=None)
    net = Internet()
    net.routes = fuzz_internet_routes(buf.getvalue(), blank_png())
    app = create_app(Settings(data_dir=tmp, auth_fail_limit=0, url_fetch={"timeout_s": 2}), store=store,
                     pool=build_pool(ModelSettings(), 2), transport=httpx.MockTransport(net.handler), resolver=StubDNS())
    strategy = requests(mutated(seed_images(face)), (info.api_key, secret))

    outcomes: Counter = Counter()
    problems: list[dict] = []
    sent = {"n": 0, "client_refused": 0, "server_5xx": 0, "tracebacks": 0}
    t0 = time.monotonic()

    with TestClient(app, raise_server_exceptions=False) as client:
        @hyp_seed(seed)
        @settings(max_examples=args.requests, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(st.data())
        def one(data):
            req = data.draw(strategy)
            r = req.send(client)
            if r is None:
                sent["client_refused"] += 1
                return
            sent["n"] += 1
            if r.status_code >= 500:
                sent["server_5xx"] += 1
            if "Traceback" in r.text or 'File "' in r.text:
                sent["tracebacks"] += 1
            problem = check_response(r)
            try:
                code = r.json().get("errorCode", "?")
            except ValueError:
                code = "-"
            outcomes[f"{r.status_code}/{code}"] += 1
            if problem and len(problems) < 50:
                problems.append({"problem": problem, "method": req.method, "query": req.query[:6],
                                 "headers": req.headers, "body_head": (req.body or b"")[:120].hex(),
                                 "response": r.text[:300]})
            if sent["n"] % 1000 == 0:
                print(f"{sent['n']} requests, {time.monotonic() - t0:.0f} s, 5xx {sent['server_5xx']}, "
                      f"problems {len(problems)}", flush=True)

        one()
    elapsed = time.monotonic() - t0
    result = {
        "machine": describe(), "command": "python " + " ".join(sys.argv), "seed": seed,
        "requests_sent": sent["n"], "generated": sent["n"] + sent["client_refused"],
        "refused_by_the_client_library": sent["client_refused"], "server_5xx": sent["server_5xx"],
        "tracebacks_in_bodies": sent["tracebacks"], "problems": len(problems), "problem_samples": problems[:10],
        "outcomes": dict(outcomes.most_common()), "seconds": round(elapsed, 1),
        "requests_per_s": round(sent["n"] / elapsed, 1),
        "note": "in-process ASGI (the app uvicorn serves), real models; URL mode on an injected transport and resolver",
    }
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "problem_samples")}, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0 if not problems and sent["server_5xx"] == 0 and sent["tracebacks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
