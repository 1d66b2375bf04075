"""Slowloris against `facematch serve`: slow request heads against a process with few file descriptors.

    .venv/bin/python -m benchmarks.slow_head [--head-timeout-s 10] [--connections 400] [--seconds 40]
                                             [--reconnect] [--out benchmarks/results/slow_head.json]

Starts `facematch serve` under `prlimit --nofile=256:256` (util-linux) with FACEMATCH_HEAD_TIMEOUT_S set,
opens --connections connections that each send a partial request head, then a byte a second, and (with
--reconnect) open a new one when cut; meanwhile a legitimate client asks `GET /healthz` (a new connection
each time, 3 s timeout) every 0.5 s. Reports how many legitimate requests were answered, in the first and
the last half of the run. The attacker and the client share 127.0.0.1, and the driver shares the machine's
cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.machine import describe, write_result
from tools.service_proc import Service, free_port, serve_command

ROOT = Path(__file__).resolve().parents[1]
HEAD = b"POST /api/v2/ekyc/face_matching?format_type=file HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


async def slow(port: int, stop: float, reconnect: bool, stats: dict[str, int]) -> None:
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats["refused"] += 1
            if not reconnect:
                return
            await asyncio.sleep(0.2)
            continue
        stats["opened"] += 1
        try:
            writer.write(HEAD)
            await writer.drain()
            while time.monotonic() < stop:
                writer.write(b"a")
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), 1.0) == b"":
                        stats["cut"] += 1
                        break
                except TimeoutError:
                    pass
        except OSError:
            stats["cut"] += 1
        finally:
            writer.close()
        if not reconnect:
            return


async def legit(url: str, start: float, stop: float, answers: list[tuple[float, bool]]) -> None:
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < stop:
            try:
                ok = (await client.get(url, headers={"connection": "close"})).status_code == 200
            except httpx.HTTPError:
                ok = False
            answers.append((time.monotonic() - start, ok))
            await asyncio.sleep(0.5)


async def attack(port: int, url: str, args: argparse.Namespace) -> tuple[dict[str, int], list[tuple[float, bool]]]:
    start = time.monotonic()
    stop = start + args.seconds
    stats = {"opened": 0, "cut": 0, "refused": 0}
    answers: list[tuple[float, bool]] = []
    await asyncio.gather(legit(url, start, stop, answers),
                         *[slow(port, stop, args.reconnect, stats) for _ in range(args.connections)])
    return stats, answers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--head-timeout-s", type=float, default=10.0, help="FACEMATCH_HEAD_TIMEOUT_S (0: off)")
    ap.add_argument("--connections", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--reconnect", action="store_true", help="open a new slow connection when one is cut")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/slow_head.json")
    args = ap.parse_args()
    port, data_dir = free_port(), Path(tempfile.mkdtemp(prefix="fm-slow-"))
    env = {"FACEMATCH_DATA_DIR": str(data_dir), "FACEMATCH_HEAD_TIMEOUT_S": str(args.head_timeout_s)}
    command = ["prlimit", "--nofile=256:256", *serve_command(port)]
    with Service(command, port, env, data_dir / "service.log").start() as svc:
        stats, answers = asyncio.run(attack(port, svc.base_url + "/healthz", args))
    half = args.seconds / 2
    run = {"head_timeout_s": args.head_timeout_s, "connections": args.connections, "reconnect": args.reconnect,
           "seconds": args.seconds, "slow_connections": stats,
           "legit_answered": {"first_half": [sum(ok for t, ok in answers if t < half),
                                             sum(1 for t, _ in answers if t < half)],
                              "second_half": [sum(ok for t, ok in answers if t >= half),
                                              sum(1 for t, _ in answers if t >= half)]}}
    print(run, flush=True)
    result: dict = {"machine": describe(), "command": "python " + " ".join(sys.argv), "runs": [run]}
    if args.out.exists():  # one file, one run per setting
        old = json.loads(args.out.read_text())
        keep = [r for r in old.get("runs", []) if (r["head_timeout_s"], r["reconnect"]) !=
                (run["head_timeout_s"], run["reconnect"])]
        result["runs"] = keep + [run]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
