"""Fairness between API keys: one key floods, another sends one request at a time.

    .venv/bin/python -m benchmarks.fairness [--seconds 40] [--flood 14]
                                            [--out benchmarks/results/fairness.json]

Starts `facematch serve` as `benchmarks.load` does (FACEMATCH_WORKERS=2,
FACEMATCH_QUEUE_LIMIT=8, FACEMATCH_REQUEST_DEADLINE_S=10, file mode, the same
card photo and selfie) with two unlimited keys:

1. "alone": the interactive key, one client in a closed loop, --seconds / 2
   seconds: its latency with the service to itself;
2. "contended": the bulk key floods with --flood clients in a closed loop
   (more than the server admits) while the interactive key sends as in 1,
   --seconds seconds.

Reported per key: successes, refusals (503 with Retry-After), errors and the
latency of the successes. Every response must be a correct result or an
explicit refusal (`benchmarks.load`'s rule). The driver shares the 2 cores
with the server: the figures are for this machine at this time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.inputs import card_and_selfie
from benchmarks.load import QUEUE_LIMIT, WORKERS, Tally, closed_loop, result_header, server_env
from benchmarks.machine import write_result
from tools.service_proc import Service, free_port, serve_command

ROOT = Path(__file__).resolve().parents[1]


def brief(tally: Tally) -> dict:
    s = tally.summary()
    return {k: s[k] for k in ("seconds", "requests", "successes", "successes_per_s", "refused_503_429", "errors",
                              "hangs", "latency_ms_success", "latency_ms_all", "problems")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--flood", type=int, default=WORKERS + QUEUE_LIMIT + 4)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/fairness.json")
    args = ap.parse_args()

    card, selfie = card_and_selfie()
    files = {"img1": ("card.jpg", card, "image/jpeg"), "img2": ("selfie.jpg", selfie, "image/jpeg")}
    data_dir = Path(tempfile.mkdtemp(prefix="fm-fair-"))
    from facematch.store import open_store

    store = open_store(f"sqlite:///{data_dir / 'facematch.db'}")
    bulk_info, bulk_secret = store.create_key(quota=None, label="bulk")
    one_info, one_secret = store.create_key(quota=None, label="interactive")
    bulk, interactive = (bulk_info.api_key, bulk_secret), (one_info.api_key, one_secret)
    port = free_port()
    env = server_env(data_dir)
    result: dict = {**result_header(), "flood_clients": args.flood}
    with Service(serve_command(port), port, env, data_dir / "service.log").start() as svc:
        url = f"{svc.url}?type1=card&format_type=file"
        with httpx.Client(timeout=60) as c:
            for auth in (bulk, interactive, bulk, interactive):
                r = c.post(url, auth=auth, files=files)
                assert r.json()["errorCode"] == "0", r.text[:300]
        reference = r.json()["data"]["matching"]

        alone = Tally("alone", reference)
        asyncio.run(closed_loop(url, interactive, files, 1, args.seconds / 2, alone))
        result["alone"] = {"interactive": brief(alone)}
        print("alone:", result["alone"]["interactive"]["latency_ms_success"], flush=True)

        flood, single = Tally("flood", reference), Tally("single", reference)

        async def both() -> None:
            await asyncio.gather(closed_loop(url, bulk, files, args.flood, args.seconds, flood),
                                 closed_loop(url, interactive, files, 1, args.seconds, single))
        asyncio.run(both())
        result["contended"] = {"bulk": brief(flood), "interactive": brief(single)}
        for name, tally in result["contended"].items():
            print(f"contended {name}:", {k: tally[k] for k in ("requests", "successes", "refused_503_429", "errors",
                                                             "latency_ms_success")}, flush=True)
        time.sleep(0.5)
    ok = all(t["errors"] == 0 and t["hangs"] == 0 for part in ("alone", "contended")
             for t in result[part].values())
    result["checks"] = {"every response a correct result or 503/429 with Retry-After, no hang": ok}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    print("wrote", args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
