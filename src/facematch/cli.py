"""The ``facematch`` command: serve | keys | match | eval | adapt | pad-limit | checks | chip-verify.

Exit codes of ``match`` follow the v2 errorCode (0 success, 1 no content, 3 no
face); 2 is also argparse's usage error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facematch.settings import Settings

#: Seconds ``facematch serve`` waits, beyond ``request_deadline_s``, for the requests in flight when told to stop.
SHUTDOWN_MARGIN_S = 5

if TYPE_CHECKING:
    from facematch.store import KeyStore


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "data_dir", None):
        os.environ["FACEMATCH_DATA_DIR"] = str(args.data_dir)
    return Settings()


def _store(args: argparse.Namespace) -> KeyStore:
    from facematch.store import open_store

    return open_store(_settings(args).resolved_database_url())


def _quota(text: str) -> int | None:
    if text.lower() in ("unlimited", "none", "-1"):
        return None
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("quota must be >= 0 or 'unlimited'")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("a share between 0 and 1, e.g. 0.05")
    return value


def _expect(text: str) -> str:
    from facematch.eval.findings import expected

    try:
        return expected(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _no_keys_yet(store: KeyStore) -> bool:
    """True when the store holds no key; False (with a warning) when the
    database cannot be reached: the service starts anyway, answers 503 and
    reports not ready (``/readyz``) until the database is back."""
    from facematch.store import StoreUnavailableError

    try:
        return store.count() == 0
    except StoreUnavailableError:
        print("facematch: database unreachable at start; no demo key created; requests get 503 until it is back",
              file=sys.stderr, flush=True)
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from facematch import logs
    from facematch.api.app import create_app
    from facematch.api.protocol import protocol_for

    settings = _settings(args)
    logs.configure(settings.log_level)
    try:
        from facematch.api.app import load_trust

        load_trust(settings)  # an unreadable CSCA or CRL file is refused before anything starts
    except ValueError as exc:
        print(f"facematch: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = _store(args)
    if settings.demo_key and _no_keys_yet(store):
        info, secret = store.create_key(quota=args.demo_quota, label="demo")
        print("=" * 64, file=sys.stderr)
        print("facematch: created a demo API key (shown once; stored hashed)", file=sys.stderr)
        print(f"  api_key    = {info.api_key}", file=sys.stderr)
        print(f"  api_secret = {secret}", file=sys.stderr)
        print(f"  quota      = {info.quota} requests", file=sys.stderr)
        print("=" * 64, file=sys.stderr, flush=True)
    print(f"facematch: serving http://{args.host}:{args.port}/api/v2/ekyc/face_matching "
          f"(database {settings.resolved_database_url().split('@')[-1]})", file=sys.stderr, flush=True)
    # Told to stop (SIGTERM: a rolling update), the server stops listening and lets every request it admitted
    # finish: none takes longer than request_deadline_s (it is answered 503 there), so wait that and a margin.
    grace = math.ceil(settings.request_deadline_s) + SHUTDOWN_MARGIN_S
    if args.processes > 1:
        # Each process loads its own models and opens the same database.
        os.environ["FACEMATCH_DATA_DIR"] = str(settings.data_dir)
        # One BLAS thread per process (numpy): the processes already fill the cores.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        uvicorn.run("facematch.api.app:create_served_app", factory=True, workers=args.processes, host=args.host,
                    port=args.port, log_config=None, timeout_graceful_shutdown=grace, http=protocol_for(args.http),
                    loop=args.loop)
    else:
        uvicorn.run(create_app(settings, store=store), host=args.host, port=args.port, log_config=None,
                    timeout_graceful_shutdown=grace, http=protocol_for(args.http), loop=args.loop)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.keys_cmd == "create":
        info, secret = store.create_key(quota=args.quota, label=args.label)
        if args.json:
            print(json.dumps({**info.as_dict(), "api_secret": secret}))
        else:
            print(f"api_key    {info.api_key}\napi_secret {secret}\nquota      {info.quota}\n"
                  "The secret is shown only now; it is stored hashed.")
        return 0
    if args.keys_cmd == "list":
        keys = store.list_keys()
        if args.json:
            print(json.dumps([k.as_dict() for k in keys]))
        else:
            print(f"{'api_key':28} {'label':12} {'quota':>10} {'used':>8} {'revoked':>8}  created_at")
            for k in keys:
                quota = "unlimited" if k.quota is None else k.quota
                print(f"{k.api_key:28} {k.label[:12]:12} {quota:>10} {k.used:>8} {str(k.revoked):>8}  {k.created_at}")
        return 0
    if args.keys_cmd == "rotate":
        new = store.rotate_secret(args.api_key)
        if new is None:
            print(f"no such active key: {args.api_key}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({"api_key": args.api_key, "api_secret": new}))
        else:
            print(f"api_key    {args.api_key}\napi_secret {new}\n"
                  "The old secret no longer works. The new one is shown only now; it is stored hashed.")
        return 0
    if args.keys_cmd == "quota":
        ok = store.set_quota(args.api_key, args.quota)
    else:
        ok = store.revoke(args.api_key)
    if not ok:
        print(f"no such key: {args.api_key}", file=sys.stderr)
        return 1
    print("ok")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from facematch.contract import envelope
    from facematch.errors import FaceMatchError
    from facematch.matcher import build_matcher
    from facematch.types import ImageKind

    settings = _settings(args)
    try:
        raws = [Path(p).read_bytes() for p in (args.img1, args.img2)]
    except FileNotFoundError as exc:
        print(f"no such file: {exc.filename}", file=sys.stderr)
        return 1
    matcher = build_matcher(settings, pool_size=2)
    try:
        answer = envelope.success(matcher.match(raws[0], raws[1], ImageKind(args.type1)), "local")
        code = 0
    except FaceMatchError as exc:
        answer = envelope.failure(exc, "local")
        code = int(exc.code)
    finally:
        matcher.close()
    doc = answer.model_dump(mode="json", exclude_unset=True)  # the fields the HTTP API would send
    if args.json:
        print(json.dumps(doc))
    else:
        _print_summary(doc, code)
    return code


def _print_summary(doc: dict[str, Any], code: int) -> None:
    d = doc["data"]
    print(f"{doc['errorMessage']} (errorCode {doc['errorCode']})")
    if code == 0:
        verdict = {"1": "same person", "0": "uncertain: review", "-1": "different people"}[d["match"]]
        print(f"matching {d['matching']} % -> {verdict} (distance {d['distance']}, "
              f"network {d.get('network', '')}, calibration {d['calibration']})")
    for n in (1, 2):
        if d.get(f"face{n}_score"):
            print(f"face{n}: score {d[f'face{n}_score']}, box {d[f'face{n}_box']}")
    if d.get("invalidCode") not in ("", "0"):
        print(f"warning {d['invalidCode']}: {d['invalidMessage']}")
    for w in d.get("warnings", []):
        print(f"  - [{w['code']}] {w['message']} ({w['check']} on {w['image']}: {w['value']} vs limit {w['limit']})")


def cmd_eval(args: argparse.Namespace) -> int:
    from facematch.eval import harness

    if args.peer:
        from facematch.eval.peer import available

        if not available():
            print("--peer needs face_recognition: scripts/install.sh bench", file=sys.stderr)
            return 2
    doc = harness.run(_settings(args), args.pairs, args.root, args.out, peer=args.peer, kind=args.kind,
                      workers=args.workers,
                      fit_calibration=args.fit_calibration, extra_impostors=args.extra_impostors,
                      command="facematch " + " ".join(sys.argv[1:]))
    print((args.out / "report.md").read_text())
    return 0 if doc["pairs"] else 1


def cmd_adapt(args: argparse.Namespace) -> int:
    from facematch.eval.embed import embed_images
    from facematch.eval.harness import model_description
    from facematch.fit.adaptation import adapt_main

    settings = _settings(args)

    def embed(paths: list[str], kind: str) -> dict[str, Any]:
        return embed_images(paths, kind=kind, workers=args.workers, settings=settings)

    try:
        summary = adapt_main(args.root, args.out, embed, command="facematch " + " ".join(sys.argv[1:]),
                             model=model_description(settings), lda_dims=args.lda_dims, folds=args.folds,
                             version=args.version)
    except ValueError as exc:
        print(f"facematch adapt: {exc}", file=sys.stderr)
        return 2
    cal_path = Path(summary["calibration"])
    doc = json.loads(cal_path.read_text())
    doc["embedder"] = settings.models.embedder  # the network it is valid for (facematch.scoring)
    cal_path.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"serve with: FACEMATCH_MATCH__ADAPTATION_FILE={summary['adaptation']} "
          f"FACEMATCH_MATCH__CALIBRATION_FILE={summary['calibration']}", file=sys.stderr)
    if summary.get("recommended") is False:
        print("facematch adapt: on held-out identities the adaptation did not help; keep serving without it",
              file=sys.stderr)
    return 0


def cmd_pad_limit(args: argparse.Namespace) -> int:
    from facematch.checks.suite import CheckLimits
    from facematch.eval.workers import image_files as images
    from facematch.fit.pad_limit import fit_limit, min_faces, score_images

    settings = _settings(args)
    if settings.models.attack_detector == "none":
        print("facematch pad-limit: no presentation-attack model is configured "
              "(FACEMATCH_MODELS__ATTACK_DETECTOR=none)", file=sys.stderr)
        return 2
    paths = images(args.genuine)
    if len(paths) < min_faces(args.bpcer):
        print(f"facematch pad-limit: {len(paths)} images in {args.genuine}; a limit at BPCER {args.bpcer:.1%} "
              f"needs at least {min_faces(args.bpcer)} judged genuine faces", file=sys.stderr)
        return 2
    current = CheckLimits().with_overrides(settings.check_limits).fraud.max_attack_score
    genuine = score_images(paths, settings, args.workers)
    attacks = score_images(images(args.attacks), settings, args.workers) if args.attacks else None
    try:
        doc = fit_limit(genuine, args.bpcer, current, attacks, command="facematch " + " ".join(sys.argv[1:]),
                        model=settings.models.attack_detector)
    except ValueError as exc:
        print(f"facematch pad-limit: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(doc, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    print(f"serve with: {doc['setting']}", file=sys.stderr)
    if doc["limit"] < current:
        print(f"facematch pad-limit: the limit is below the current one ({current}): photos from other cameras "
              "than these will be flagged more often", file=sys.stderr)
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    from facematch.eval.findings import judge_folder, report, summarise, write_list
    from facematch.eval.workers import image_files as images
    from facematch.types import ImageKind

    settings = _settings(args)
    if not args.folder.is_dir():
        print(f"facematch checks: {args.folder} is not a folder", file=sys.stderr)
        return 2
    paths = images(args.folder)
    if not paths:
        print(f"facematch checks: no images in {args.folder}", file=sys.stderr)
        return 2
    kind = ImageKind(args.kind)
    items = judge_folder(paths, args.folder, settings, kind, args.workers)
    doc = summarise(items, kind, args.expect, command="facematch " + " ".join(sys.argv[1:]), settings=settings)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    if args.list:
        write_list(items, args.list)
    print(report(doc))
    return 0


_EPILOG = """examples:
  facematch serve --host 0.0.0.0 --port 8000
  facematch keys create --quota 1000 --label partner-a
  facematch match card.jpg selfie.jpg --json
  facematch eval pairs.txt --root DIR --out OUT
  facematch adapt /data/consented-people --out /var/lib/facematch/adapted
  facematch pad-limit /data/kiosk-genuine --bpcer 0.05 --out /var/lib/facematch/pad-limit.json
  facematch checks /data/genuine-cards --kind card --out card-warnings.json
  facematch chip-verify dg2.bin sod.bin --csca masterlist.ml

configuration: FACEMATCH_* environment variables (docs/configuration.md), e.g.
FACEMATCH_DATABASE_URL=postgresql://... to keep keys and quotas in PostgreSQL.
`facematch COMMAND --help` describes each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facematch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Self-hostable face matching for eKYC (the v2 face_matching contract): an ID card photo "
                    "against a live portrait.",
        epilog=_EPILOG)
    sub = parser.add_subparsers(dest="cmd", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service",
                           description="Serve /api/v2/ekyc/face_matching, the demo page (/demo/), /docs, "
                                       "/healthz, /readyz and /metrics. Configured by FACEMATCH_* environment "
                                       "variables (docs/configuration.md).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="directory of the SQLite database (default ./data)")
    serve.add_argument("--demo-quota", type=_quota, default=1000, help="quota of the demo key created at first start")
    serve.add_argument("--processes", type=int, default=1,
                       help="worker processes (default 1); each holds FACEMATCH_WORKERS matching threads "
                            "and its own models")
    # auto: httptools and uvloop (dependencies), else uvicorn's pure-Python h11 parser and asyncio's loop.
    serve.add_argument("--http", choices=("auto", "httptools", "h11"), default="auto",
                       help="HTTP/1.1 parser (default auto: httptools)")
    serve.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                       help="event loop (default auto: uvloop)")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys",
                          description="API keys and quotas, in the database of FACEMATCH_DATABASE_URL (default: "
                                      "SQLite in the data directory). Exit code 1 for an unknown key.")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    create = keys_sub.add_parser("create", help="create a key and print its secret (once)")
    create.add_argument("--quota", type=_quota, default=None, help="requests allowed (default unlimited)")
    create.add_argument("--label", default="", help="free text to recognise the key by")
    create.add_argument("--json", action="store_true", help="print the key, its secret and quota as JSON")
    lst = keys_sub.add_parser("list", help="list keys with quota and usage")
    lst.add_argument("--json", action="store_true", help="print a JSON list")
    quota = keys_sub.add_parser("quota", help="set a key's quota")
    quota.add_argument("api_key")
    quota.add_argument("quota", type=_quota, help="requests allowed in total (used ones included), or 'unlimited'")
    revoke = keys_sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("api_key")
    rotate = keys_sub.add_parser("rotate", help="give a key a new secret (quota and usage kept; the old secret "
                                                "stops working at once) and print it (once)")
    rotate.add_argument("api_key")
    rotate.add_argument("--json", action="store_true", help="print the key and its new secret as JSON")
    for p in (create, lst, quota, revoke, rotate):
        p.add_argument("--data-dir", type=Path, help="directory of the SQLite database (default ./data)")
    keys.set_defaults(func=cmd_keys)

    m = sub.add_parser("match", help="match two image files locally, without a server",
                       description="Run the matcher in this process (no server, no key) and print a summary, or "
                                   "with --json the same v2 envelope the HTTP API answers. Exit code: the "
                                   "errorCode (0 matched, 1 unreadable image or no such file, 3 no face).")
    m.add_argument("img1", help="the ID card photo (or a portrait with --type1 portrait)")
    m.add_argument("img2", help="the portrait")
    m.add_argument("--type1", choices=("card", "portrait", "chip"), default="card",
                   help="what img1 is (default card; chip: the CCCD chip's DG2 data group or its image)")
    m.add_argument("--json", action="store_true", help="print the v2 envelope")
    m.set_defaults(func=cmd_match)

    ev = sub.add_parser("eval", help="accuracy on a pair list: metrics.json, scores.csv, roc.png, report.md")
    ev.add_argument("pairs", type=Path, help="pair list: 'path1 path2 label [fold]' per line")
    ev.add_argument("--root", type=Path, required=True, help="folder the pair paths are relative to")
    ev.add_argument("--out", type=Path, required=True, help="output folder")
    ev.add_argument("--peer", action="store_true", help="also run face_recognition with its defaults (same pairs)")
    ev.add_argument("--kind", choices=("card", "portrait"), default="portrait",
                    help="which checks' limits apply (does not change the score)")
    ev.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ev.add_argument("--fit-calibration", type=Path, default=None,
                    help="write a calibration JSON fitted on these pairs (its file name stem is the version)")
    ev.add_argument("--extra-impostors", type=int, default=0,
                    help="with --fit-calibration: also sample this many impostor pairs among the images")
    ev.set_defaults(func=cmd_eval)

    ad = sub.add_parser("adapt", help="fit the embedding to your own population: adaptation + calibration",
                        description="From labelled identities (ROOT/<person>/<image>; files named card* are ID card "
                                    "photos) fit a within-class whitening (+ optional LDA) of the embedding and "
                                    "refit the calibration on top, on identities held out of each fit. Writes "
                                    "OUT/adaptation.json and OUT/calibration.json with their provenance and prints "
                                    "the held-out check, with and without the adaptation (docs/accuracy.md).")
    ad.add_argument("root", type=Path, help="folder of person folders (consented images), or a pair list")
    ad.add_argument("--out", type=Path, required=True, help="output folder")
    ad.add_argument("--folds", type=int, default=5, help="identity folds for the held-out check (default 5)")
    ad.add_argument("--lda-dims", type=int, default=None, help="keep this many LDA directions (default: all)")
    ad.add_argument("--version", default=None, help="artefact version (default adapted-<date>)")
    ad.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ad.set_defaults(func=cmd_adapt)

    pl = sub.add_parser("pad-limit", help="pick the presentation-attack limit on your own cameras' genuine captures",
                        description="Score genuine portraits taken by the cameras a deployment controls (a kiosk, a "
                                    "counter webcam) as the service does, and print the lowest "
                                    "fraud.max_attack_score that flags at most --bpcer of them, with the setting "
                                    "to serve it, its rate on each half of the captures picked on the other, and, "
                                    "with --attacks, the attacks it misses (docs/presentation-attacks.md). Writes "
                                    "no image, name or per-image score. Exit code 2 with too few faces.")
    pl.add_argument("genuine", type=Path, help="folder of genuine portraits from those cameras")
    pl.add_argument("--bpcer", type=_share, default=0.05,
                    help="share of genuine captures the limit may flag (default 0.05)")
    pl.add_argument("--attacks", type=Path, default=None,
                    help="folder of presentation attacks on the same cameras (optional)")
    pl.add_argument("--out", type=Path, default=None, help="also write the summary JSON here")
    pl.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    pl.set_defaults(func=cmd_pad_limit)

    ck = sub.add_parser("checks", help="the warnings a folder of your own photos raises, as the service raises them",
                        description="Send every image of a folder through the service's pipeline as a card photo "
                                    "(type1=card) or a portrait, with the configured models and check limits, and "
                                    "count per warning code the images that raise it (listed in warnings) and "
                                    "that show it as invalidCode, with 95 %% intervals (docs/checks.md, 'Your own "
                                    "photos'). On genuine photos (--expect genuine, the default) every warning is "
                                    "a false alarm; on known attacks, --expect CODE reads that code's recall. The "
                                    "summary holds no image, score or file name; --list writes which file raised "
                                    "what. Exit code 2 without images.")
    ck.add_argument("folder", type=Path, help="folder of photos (searched recursively)")
    ck.add_argument("--kind", choices=("card", "portrait"), default="card",
                    help="send them as a card photo (img1, type1=card; default) or as a portrait (img2)")
    ck.add_argument("--expect", type=_expect, default="genuine",
                    help="'genuine' (default: every warning is a false alarm) or the code they should raise")
    ck.add_argument("--out", type=Path, default=None, help="also write the summary JSON here")
    ck.add_argument("--list", type=Path, default=None,
                    help="write a CSV of each file's codes here (file names may carry personal data)")
    ck.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ck.set_defaults(func=cmd_checks)

    cv = sub.add_parser("chip-verify", help="passive authentication of chip data (DG2 + EF.SOD), as the API does it",
                        description="Verify that the data groups read from a CCCD's chip were signed by the issuer: "
                                    "EF.SOD's signature, its signer's chain to a trusted CSCA, validity, revocation "
                                    "and each data group's hash (ICAO 9303 part 11; docs/chip.md). Prints the "
                                    "result as JSON. Exit code 0 when valid, 1 otherwise, 2 for an unreadable "
                                    "CSCA or CRL file.")
    cv.add_argument("dg2", type=Path, help="DG2 as read from the chip (tag 0x75)")
    cv.add_argument("sod", type=Path, help="EF.SOD as read from the chip (tag 0x77)")
    cv.add_argument("--csca", type=Path, required=True,
                    help="trusted CSCAs: PEM bundle, DER certificate or ICAO master list")
    cv.add_argument("--crl", type=Path, default=None, help="CRLs of those CSCAs (PEM or DER)")
    for n in (1, 13, 14, 15):
        cv.add_argument(f"--dg{n}", type=Path, default=None, help=f"DG{n} as read; its hash is checked too")
    cv.set_defaults(func=cmd_chip_verify)
    return parser


def cmd_chip_verify(args: argparse.Namespace) -> int:
    from facematch.passive_auth import TrustStore, verify

    try:
        trust = TrustStore.load(args.csca, args.crl)
    except ValueError as exc:
        print(f"facematch chip-verify: {exc}", file=sys.stderr)
        return 2
    try:
        groups = {2: args.dg2.read_bytes(), **{n: getattr(args, f"dg{n}").read_bytes() for n in (1, 13, 14, 15)
                                                if getattr(args, f"dg{n}") is not None}}
        sod = args.sod.read_bytes()
    except OSError as exc:
        print(f"facematch chip-verify: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    result = verify(sod, groups, trust)
    print(json.dumps(result.as_dict(), indent=2))
    return 0 if result.verified else 1


def main(argv: list[str] | None = None) -> int:
    from facematch import memory

    memory.tune_malloc()  # before the libraries' threads and big allocations (facematch.memory)
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
