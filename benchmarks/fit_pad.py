"""Fit the presentation-attack model (``facematch/data/pad-v1.json``) and
measure it (``benchmarks/pad.py`` calls ``report``).

    nice -n 10 .venv/bin/python benchmarks/fit_pad.py [--data ../shared/data] [--write] [--subsets]

The model is a logistic regression over ``facematch.models.pad.FEATURES``,
standardised, with each weight's sign fixed by the physics (``SIGNS``: a
lifted black level, a cooler white, glare, softness and moire peaks can only
raise the score; contrast and chroma only lower it): a feature whose
direction on the fitting data disagrees gets weight 0 rather than a
direction that fits one device. L2 penalty ``PENALTY``; the real and the
synthetic part each weigh as much, and in each bona fide and attacks weigh
alike. Fitted by projected gradient descent (bounded, deterministic).

Folds (never reported on a set used to fit or to pick the limit):

* ``fit-a``: ``pad/replay_a`` + synthetic attacks on LFW's ``fit`` half ->
  reported on ``pad/replay_b``;
* ``fit-b``: the reverse;
* shipped (``--write``): both real sets + the LFW ``fit`` half (+ CASIA's
  ``fit`` half for the limit). Reported only on what it never saw: LFW's
  ``test`` half (bona fide and synthetic attacks), ``clean_face`` (bona fide
  and synthetic attacks), Yale, CASIA's ``test`` half and the mask /
  sunglasses photos (bona fide).

The limit (operating point) of each fit is picked on its own fitting data:
the lowest score that flags at most ``TRAIN_BPCER`` of the real bona fide,
at most ``TRAIN_LFW_FA`` of the images of LFW's ``fit`` half (all of them,
bona fide) and at most ``TRAIN_WEBCAM_FA`` of the East-Asian webcam photos
of CASIA's ``fit`` half of the people (bona fide: the population the service
serves, under the cool office light that the ``cool`` feature mistakes for a
display's white).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import datetime
import json
import time

import numpy as np

import pad as bench
from facematch.models.pad import Z_CLIP

#: +1: may only raise the attack score; -1: may only lower it; 0: left out. ``soft`` at 0 was
#: tried (docs/presentation-attacks.md): fewer blurred genuine faces flagged, more clean ones.
SIGNS = {"moire": 1, "black": 1, "contrast": -1, "chroma": -1, "cool": 1, "glare": 1, "soft": 1}
PENALTY = 0.05
TRAIN_BPCER = 0.05
TRAIN_LFW_FA = 0.01
TRAIN_WEBCAM_FA = 0.05
ARTEFACT = bench.ROOT / "src" / "facematch" / "data" / "pad-v1.json"


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, signs: np.ndarray,
        penalty: float = PENALTY, steps: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Sign-constrained weighted logistic regression on standardised ``x``:
    (mean, scale, weights, bias)."""
    ok = ~np.isnan(x).any(axis=1)
    x, y, w = x[ok], y[ok], w[ok]
    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w)) + 1e-9
    z = np.clip((x - mean) / scale, -Z_CLIP, Z_CLIP)
    w = w / w.sum()
    beta = np.zeros(x.shape[1])
    b = 0.0
    lr = 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ beta + b)))
        g = z.T @ (w * (p - y)) + penalty * beta
        gb = float(np.sum(w * (p - y)))
        beta = beta - lr * g
        b -= lr * gb
        beta = np.where(signs > 0, np.maximum(beta, 0), np.where(signs < 0, np.minimum(beta, 0), 0.0))
    return mean, scale, beta, b


def weights_for(groups: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Sample weights: each (labels, total) group split evenly between its classes."""
    out = []
    for y, total in groups:
        w = np.where(y == 1, total / 2 / max(1, (y == 1).sum()), total / 2 / max(1, (y == 0).sum()))
        out.append(w)
    return np.concatenate(out)


def probability(x: np.ndarray, model: dict[str, object]) -> np.ndarray:
    z = np.clip(np.nan_to_num((x - np.asarray(model["mean"])) / np.asarray(model["scale"]), nan=0.0), -Z_CLIP, Z_CLIP)
    return 1 / (1 + np.exp(-(z @ np.asarray(model["weights"]) + float(model["bias"]))))  # type: ignore[arg-type]


def pick_limit(scores_real_bona: np.ndarray, scores_lfw_bona: np.ndarray, scores_webcam_bona: np.ndarray) -> float:
    """Lowest limit with at most TRAIN_BPCER of real, TRAIN_LFW_FA of LFW and TRAIN_WEBCAM_FA of the
    East-Asian webcam bona fide above it."""
    return float(max(np.quantile(scores_real_bona, 1 - TRAIN_BPCER), np.quantile(scores_lfw_bona, 1 - TRAIN_LFW_FA),
                     np.quantile(scores_webcam_bona, 1 - TRAIN_WEBCAM_FA)))


def fit_on(cache: bench.FeatureCache, real: list[list[bench.Item]], synth: list[bench.Item],
           lfw_bona: list[bench.Item], webcam_bona: list[bench.Item],
           only: tuple[str, ...] | None = None) -> dict[str, object]:
    """The model and its limit; ``only``: the features allowed a weight (the others get 0)."""
    from facematch.models.pad import FEATURES

    xr, yr = [], []
    for items in real:
        x, y, _ = bench.matrix(cache, items)
        xr.append(x)
        yr.append(y)
    xs, ys, _ = bench.matrix(cache, synth)
    x = np.concatenate(xr + [xs])
    y = np.concatenate(yr + [ys])
    w = weights_for([(yy, 1.0 / len(real)) for yy in yr] + [(ys, 1.0)])
    signs = np.array([SIGNS[f] if only is None or f in only else 0 for f in FEATURES], dtype=float)
    mean, scale, beta, b = fit(x, y, w, signs)
    model: dict[str, object] = {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                                "weights": beta.tolist(), "bias": b}
    real_bona = np.concatenate([probability(xx[yy == 0], model) for xx, yy in zip(xr, yr, strict=True)])
    model["limit"] = pick_limit(real_bona, probability(bench.matrix(cache, lfw_bona)[0], model),
                                probability(bench.matrix(cache, webcam_bona)[0], model))
    return model


def evaluate(cache: bench.FeatureCache, items: list[bench.Item],
             model: dict[str, object]) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    x, y, t = bench.matrix(cache, items)
    s = probability(x, model)
    r = bench.rates(s, y, t, float(model["limit"]))  # type: ignore[arg-type]
    if (y == 1).any() and (y == 0).any():
        r["apcer_at_bpcer_5pct_curve"] = bench.apcer_at_bpcer(s, y, 0.05)
        r["note_curve"] = "best APCER over limits with BPCER <= 5 % on this set itself (threshold in-sample)"
    return r, s, y


def latency() -> dict[str, float]:
    """Median ms of ``RecaptureDetector.score`` on a 1600x1200 card photo and a 1280x960 selfie."""
    from skimage import data

    from facematch.models.pad import RecaptureDetector
    from facematch.types import ImageKind
    from tests.support.synth import cards

    det = RecaptureDetector.load()
    head = data.astronaut()[0:300, 113:338]
    rng = np.random.default_rng(0)
    import cv2

    flat, _ = cards.render_card(head, rng)
    card = cv2.resize(cards.photograph(flat, rng), (1600, 1200))
    selfie = cards.render_portrait_selfie(head, np.random.default_rng(3))
    out = {}
    for name, img, box, kind in (("card_1600x1200", card, (700.0, 400.0, 860.0, 600.0), ImageKind.CARD),
                                 ("selfie_1280x960", selfie, (480.0, 250.0, 800.0, 650.0), ImageKind.PORTRAIT)):
        det.score(img, box, kind)
        ts = []
        for _ in range(30):
            t = time.perf_counter()
            det.score(img, box, kind)
            ts.append((time.perf_counter() - t) * 1000)
        out[f"{name}_ms_median"] = float(np.median(ts))
        out[f"{name}_ms_p90"] = float(np.percentile(ts, 90))
    return out


#: Card photos: the service flags one when the model or the spectral peak does (checks/suite.py).
CARD_TESTS = ("synth_card_test", "specimens")


def card_rates(cache: bench.FeatureCache, items: list[bench.Item], model: dict[str, object]) -> dict[str, object]:
    """ISO/IEC 30107-3 rates on card photos of the spectral check alone, the model alone and the rule the
    service runs on cards (either flags), over every image and over those with a face found."""
    from facematch.checks.fraud import FraudLimits
    from facematch.models.pad import FEATURES

    x, y, t = bench.matrix(cache, items)
    face = np.array([cache.get(it)[0] is not None for it in items])  # the box, from the same cache
    by_model = probability(x, model) > float(model["limit"])  # type: ignore[arg-type]
    # The model's moire feature is the spectral check's peak (same patch and background width).
    max_peak = FraudLimits().max_peak
    spectral = x[:, FEATURES.index("moire")] > max_peak
    out: dict[str, object] = {}
    for rule, flagged in (("spectral", spectral), ("model", by_model), ("either", spectral | by_model)):
        for scope, sel in (("all", np.ones(len(y), bool)), ("with_face", face)):
            r = bench.rates(flagged[sel].astype(float), y[sel], t[sel], 0.5)
            r["limit"] = {"model": model["limit"], "spectral": max_peak}
            out[f"{rule}_{scope}"] = r
    return out


def _line(name: str, r: dict[str, object], note: str) -> str:
    parts = [f"{name:<30}", f"BPCER {r['bona_fide_flagged']}/{r['bona_fide']}"]
    parts += [f"APCER {k} {r[k + '_missed']}/{r[k + '_attacks']}" for k in ("replay", "print") if k + "_attacks" in r]
    return "  ".join(parts) + f"  ({note})"


#: Sets the shipped model never saw, and those it was fitted on or its limit was picked on (in-sample).
SHIPPED_TESTS = ("synth_lfw_test", "synth_clean_face", "synth_card_test", "synth_selfie_test", "lfw_test",
                 "clean_face", "yale", "casia_test", "attributes_occluded")
IN_SAMPLE = ("replay_a", "replay_b", "casia_fit")
#: The real replay sets the shipped model is fitted on.
REAL = ("replay_a", "replay_b")
HELD_OUT = {"fit-a": "replay_b", "fit-b": "replay_a"}


def provenance() -> dict[str, object]:
    return {
        "fitted_on": [
            "pad/replay_a (80 live + 80 screen replays)", "pad/replay_b (80 + 80)",
            f"synthetic screen replays and prints (tests/support/synth/recapture.py) of {bench.LFW_ATTACK_PEOPLE} "
            "LFW people of the 'fit' half (benchmarks/pad.py: lfw_split), with their bona fide originals",
            "LFW 'fit' half, every image, bona fide (to pick the limit only)",
            "asian/casia_v5, the 'fit' half of the people (benchmarks/pad.py: lfw_split), bona fide (to pick the "
            "limit only)"],
        "not_fitted_on": ["LFW 'test' half", "attributes/clean_face", "yale", "asian/casia_v5 'test' half",
                          "attributes/mask", "attributes/sunglasses"],
        "command": "nice -n 10 .venv/bin/python benchmarks/fit_pad.py --write",
        "date": datetime.date.today().isoformat(),
        "method": "sign-constrained logistic regression (benchmarks/fit_pad.py: SIGNS, PENALTY); limit: at most "
                  "5 % of the real bona fide, 1 % of LFW's fit half and 5 % of CASIA's fit half above it",
        "terms": "fitted weights only (7 + 1 numbers and the limit); no image or image-derived data ships"}


def report(all_sets: dict[str, list[bench.Item]], cache: bench.FeatureCache, out: Path, write: bool = False) -> int:
    from machine import describe

    lfw_fit, synth, webcam = all_sets["lfw_fit"], all_sets["synth_lfw_fit"], all_sets["casia_fit"]
    folds = {"fit-a": fit_on(cache, [all_sets["replay_a"]], synth, lfw_fit, webcam),
             "fit-b": fit_on(cache, [all_sets["replay_b"]], synth, lfw_fit, webcam)}
    shipped = fit_on(cache, [all_sets[n] for n in REAL], synth, lfw_fit, webcam)
    fold_results: dict[str, object] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, model in folds.items():
        test = HELD_OUT[name]
        r, s, y = evaluate(cache, all_sets[test], model)
        fold_results[name] = {"model": model, "tested_on": test, "test": r}
        curves[f"{name} -> {test}"] = bench.det_curve(s, y)
        print(f"{name}: limit {model['limit']:.3f}, weights {np.round(model['weights'], 2).tolist()}")
        print(_line(f"{name} on {test}", r, "held out"))
    ship: dict[str, object] = {"model": shipped, "in_sample": [*IN_SAMPLE, "synth_lfw_fit", "lfw_fit"]}
    for test in SHIPPED_TESTS + IN_SAMPLE:
        r, s, y = evaluate(cache, all_sets[test], shipped)
        r["in_sample"] = test in IN_SAMPLE
        ship[test] = r
        if test.startswith("synth"):
            curves[f"shipped -> {test}"] = bench.det_curve(s, y)
        print(_line(f"shipped on {test}", r, "IN-SAMPLE" if test in IN_SAMPLE else "held out"))
    for test in CARD_TESTS:
        cr = card_rates(cache, all_sets[test], shipped)
        ship[f"card_rule_{test}"] = cr
        for k, v in cr.items():
            print(_line(f"card {test} {k}", v, "held out"))  # type: ignore[arg-type]
    sweep: dict[str, object] = {}
    # 0.6677: the default before CASIA's webcam bona fide joined the limit's rule.
    for limit in (0.5, 0.6, 0.6677, 0.75, 0.8, round(float(shipped["limit"]), 4), 0.85, 0.9, 0.95):  # type: ignore[arg-type]
        row: dict[str, dict[str, object]] = {}
        for test in SHIPPED_TESTS:
            x, y, t = bench.matrix(cache, all_sets[test])
            row[test] = bench.rates(probability(x, shipped), y, t, limit)
        for fold, model in folds.items():
            x, y, t = bench.matrix(cache, all_sets[HELD_OUT[fold]])
            row[f"{fold}->{HELD_OUT[fold]}"] = bench.rates(probability(x, model), y, t, limit)
        sweep[str(limit)] = row
        print(f"limit {limit}:")
        for k, v in row.items():
            print("   " + _line(k, v, "held out"))
    ship["sweep"] = sweep
    if write:
        art = {"version": "v1", **shipped, "provenance": provenance()}
        ARTEFACT.write_text(json.dumps(art, indent=2) + "\n")
        print(f"wrote {ARTEFACT}")
    try:
        lat: dict[str, object] = dict(latency())
    except (OSError, KeyError, ValueError) as e:  # the artefact may not exist before the first --write
        lat = {"error": repr(e)}
    print(lat)
    results = {"machine": describe(), "date": datetime.date.today().isoformat(),
               "command": "nice -n 10 .venv/bin/python benchmarks/pad.py", "folds": fold_results,
               "shipped": ship, "latency": lat}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    bench.plot(curves, out.with_suffix(".png"), "PAD DET: cross-set and held-out synthetic (benchmarks/pad.py)")
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


#: Feature subsets tried for the cross-set folds (``--subsets``): the display's physics alone (a cooler
#: white, glare on glass, a pixel grid), then one tone or detail feature added to it.
SUBSETS = (("cool", "glare"), ("cool", "glare", "moire"), ("cool", "glare", "moire", "soft"),
           ("cool", "glare", "moire", "chroma"), ("cool", "glare", "moire", "black"),
           ("cool", "glare", "moire", "contrast"), ("cool", "glare", "moire", "soft", "chroma"))


REAL_SOURCES = ("replay_a", "replay_b", "replay_c", "replay_d", "nuaa_print")


def leave_one_source_out(all_sets: dict[str, list[bench.Item]], cache: bench.FeatureCache, out: Path) -> int:
    """For each real attack source: the model fitted (same rule, synthetic LFW attacks, limit rule) on the other
    real sources, read on the held-out one at its own limit and as ISO/IEC 30107-3 curve points (APCER at
    BPCER 5 %, BPCER at APCER 10 %: thresholds chosen on the held-out set, so curve readings); and the shipped
    model on the same source (in-sample for replay_a and replay_b, which it was fitted on)."""
    lfw_fit, synth, webcam = all_sets["lfw_fit"], all_sets["synth_lfw_fit"], all_sets["casia_fit"]
    sources = [s for s in REAL_SOURCES if s in all_sets]
    shipped = json.loads(ARTEFACT.read_text())
    rows: dict[str, object] = {}
    for held in sources:
        model = fit_on(cache, [all_sets[s] for s in sources if s != held], synth, lfw_fit, webcam)
        row: dict[str, object] = {"fitted_on": [s for s in sources if s != held]}
        for label, m in (("left_out_fit", model), ("shipped_model", shipped)):
            r, s, y = evaluate(cache, all_sets[held], m)
            r["bpcer_at_apcer_10pct_curve"] = bench.bpcer_at_apcer(s, y, 0.10)
            bona = {n: evaluate(cache, all_sets[n], m)[0]["bona_fide_flagged"] for n in ("clean_face", "lfw_test")}
            row[label] = {"limit": m["limit"], "test": r, "bona_fide_flagged_elsewhere": bona}
            kinds = " ".join(f"APCER {k} {r[f'{k}_missed']}/{r[f'{k}_attacks']}" for k in ("replay", "print")
                             if f"{k}_attacks" in r)
            print(f"{held:10s} {label:13s} limit {float(m['limit']):.3f}: {kinds} BPCER "  # type: ignore[arg-type]
                  f"{r['bona_fide_flagged']}/{r['bona_fide']} | curve: APCER@BPCER5% "
                  f"{r['apcer_at_bpcer_5pct_curve']:.2f} BPCER@APCER10% {r['bpcer_at_apcer_10pct_curve']:.2f} | "
                  f"clean_face flagged {bona['clean_face']}/218 LFW test {bona['lfw_test']}", flush=True)
        rows[held] = row
    return _write(out, "--loso", {"sources": rows})


def _write(out: Path, flag: str, body: dict[str, object]) -> int:
    from machine import describe

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": describe(), "date": datetime.date.today().isoformat(),
                               "command": f"nice -n 10 .venv/bin/python benchmarks/fit_pad.py {flag}", **body},
                              indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def subsets(all_sets: dict[str, list[bench.Item]], cache: bench.FeatureCache, out: Path) -> int:
    """Both cross-set folds for each of ``SUBSETS`` (same fitting sets and limit rule as ``report``): the held-out
    replay set's APCER and BPCER, and the bona fide flagged on sets no fold saw."""
    lfw_fit, synth, webcam = all_sets["lfw_fit"], all_sets["synth_lfw_fit"], all_sets["casia_fit"]
    rows = []
    for only in SUBSETS:
        row: dict[str, object] = {"features": list(only)}
        for fold, train in (("fit-a", "replay_a"), ("fit-b", "replay_b")):
            model = fit_on(cache, [all_sets[train]], synth, lfw_fit, webcam, only=only)
            r, _, _ = evaluate(cache, all_sets[HELD_OUT[fold]], model)
            bona = {n: evaluate(cache, all_sets[n], model)[0] for n in ("lfw_test", "clean_face", "casia_test")}
            row[fold] = {"tested_on": HELD_OUT[fold], "limit": model["limit"], "weights": model["weights"],
                         "test": r, "bona_fide_flagged": {n: v["bona_fide_flagged"] for n, v in bona.items()},
                         "bona_fide": {n: v["bona_fide"] for n, v in bona.items()}}
            print(f"{'+'.join(only):<32} {fold}: limit {float(model['limit']):.3f} "  # type: ignore[arg-type]
                  + _line(HELD_OUT[fold], r, "held out") + "  bona fide flagged "
                  + " ".join(f"{n} {v['bona_fide_flagged']}/{v['bona_fide']}" for n, v in bona.items()))
        rows.append(row)
    return _write(out, "--subsets", {"subsets": rows})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=bench.ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=bench.ROOT / "benchmarks" / "results" / "pad.json")
    ap.add_argument("--write", action="store_true", help="write the shipped artefact")
    ap.add_argument("--subsets", action="store_true", help="the cross-set folds on feature subsets (SUBSETS) only")
    ap.add_argument("--loso", action="store_true", help="leave one real attack source out (REAL_SOURCES) only")
    args = ap.parse_args(argv)
    if not (args.data / "pad").is_dir():
        print(f"no data folder at {args.data} (../shared/data/pad): nothing fitted")
        return 0
    if args.loso:
        return leave_one_source_out(bench.sets(args.data), bench.FeatureCache(), args.out.with_name("pad_loso.json"))
    if args.subsets:
        return subsets(bench.sets(args.data), bench.FeatureCache(), args.out.with_name("pad_subsets.json"))
    return report(bench.sets(args.data), bench.FeatureCache(), args.out, write=args.write)


if __name__ == "__main__":
    raise SystemExit(main())
