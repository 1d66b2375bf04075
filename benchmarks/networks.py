"""dlib's ResNet and SFace side by side on every dev set, and the SFace calibration's held-out figures.

Reads ../shared/data (read in place, never copied) and the synthetic cards
that tools/make_card_set.py prints from each East-Asian source's photos:

    for s in casia_v5 p101jp_s2/images boysplanet/images kpop_idols/images; do
        .venv/bin/python -m tools.make_card_set --asian ../shared/data/asian/$s \\
            --out /tmp/cards-${s%%/*} --workers 2; done
    .venv/bin/python -m benchmarks.networks --data ../shared/data --cards /tmp

Every image is embedded once per network through the same ``Matcher`` the
API uses (decode, detect, align, embed; no checks), cached under ``--cache``.
Writes benchmarks/results/networks.json:

- per network and data set: failure to acquire (FTA), TAR at FAR 1e-2 / 1e-3
  / 1e-4 (where the impostor count allows), FAR above 75 and at or above 65
  and genuine pairs above 75 / at or above 65 under the network's default
  calibration, LFW's 10-fold accuracy;
- the SFace calibration's held-out figures: thresholds fitted on 4 of 5
  identity-disjoint folds of every East-Asian source by the shipped rule
  (``pop.thresholds_across_sources``: photo-photo and card-photo impostor
  pairs of each source are separate sets, the strictest threshold kept, then
  the cross-source margin taken off) and counted on the held-out fold's
  people; and leave one source out (the same rule on the other three
  sources, counted on the fourth);
- the calibration itself is fitted, on all of them, by ``python -m tools.fit_calibration``.

Impostor pairs are scored under the capture conditions of the genuine pairs
beside them: each source's pair list says which photo pairs exist (studio
headshot vs show frame for boysplanet, different shots for p101jp_s2, every
pair for casia_v5 and kpop_idols), and a card printed from photo X is paired
with photo Y only where (X, Y) is such a pair.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import machine
from facematch.eval import metrics
from facematch.fit import population as pop
from facematch.fit.population import Array
from facematch.fit.sources import TARGETS, held_out_folds, leave_one_source_out
from tools.devsets import NETWORKS, OTHER_SETS, SOURCES, embed_cached, other_set, source_samples

COMMAND = "python -m benchmarks.networks --data ../shared/data --cards /tmp"

REPO = Path(__file__).resolve().parents[1]




def fta(vectors: list[Array | None]) -> dict[str, int]:
    return {"images": len(vectors), "no_face": sum(v is None for v in vectors)}


def dev_figures(args: argparse.Namespace, network: str, knots: list[list[float]],
                samples: dict[str, pop.Samples]) -> dict[str, Any]:
    """Every dev set under ``network`` and its calibration ``knots``."""
    out: dict[str, Any] = {}
    for n, s in samples.items():
        for t in pop.PAIR_TYPES:
            gen, imp = pop.distances(s, t)
            kind = pop.CARD if t == "card-photo" else pop.PHOTO
            vecs = [None if np.isnan(v[0]) else v for v, k in zip(s.vectors, s.kind, strict=True) if k == kind]
            out[f"{n}/{t}"] = {"fta": fta(vecs), **pop.score_summary(gen, imp, knots)}
    for n in SOURCES:  # every impostor pair whatever the capture condition (studio vs studio): never fitted on
        root = args.data / "asian" / n
        if (root / "pairs_any_condition.txt").exists():
            pairs = pop.read_pairs(root / "pairs_any_condition.txt")
            rels = sorted({p for a, b, _ in pairs for p in (a, b)})
            emb = embed_cached(args.cache, network, n, root, rels, "portrait", args.workers)
            gen, imp = pair_distances(pairs, emb)
            out[f"{n}/any-condition"] = {"fta": fta(list(emb.values())), **pop.score_summary(gen, imp, knots)}
    for name in OTHER_SETS:
        pairs, emb = other_set(args, network, name)
        gen, imp = pair_distances(pairs, emb)
        out[name] = {"fta": fta(list(emb.values())), **pop.score_summary(gen, imp, knots)}
    rows = [line.split() for line in (args.data / "lfw/pairs_10fold.txt").read_text().splitlines() if line.strip()]
    _, emb = other_set(args, network, "lfw")
    dist = np.array([pair_distance(emb, r[0], r[1]) for r in rows])
    labels = np.array([int(r[2]) for r in rows])
    mean, sd = metrics.accuracy_10fold(np.where(np.isfinite(dist), -dist, -np.inf), labels,
                                       np.array([int(r[3]) for r in rows]))
    out["lfw"]["accuracy_10fold"] = {"mean": mean, "sd": sd}
    return out


def pair_distance(emb: dict[str, Array | None], a: str, b: str) -> float:
    va, vb = emb.get(a), emb.get(b)
    return np.inf if va is None or vb is None else float(np.linalg.norm(np.asarray(va) - np.asarray(vb)))


def pair_distances(pairs: list[tuple[str, str, int]], emb: dict[str, Array | None]) -> tuple[Array, Array]:
    d = np.array([pair_distance(emb, a, b) for a, b, _ in pairs])
    lab = np.array([y for _, _, y in pairs], dtype=bool)
    return d[lab], d[~lab]


FUSION_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def fusion(args: argparse.Namespace) -> dict[str, Any]:
    """Score-level fusion, SFace cosine + w * dlib cosine: TAR at FAR 1e-3 per source and pair type for each
    ``w`` (0: SFace alone). No weight is fitted here: a gain would have to show on every source."""
    out: dict[str, Any] = {}
    for n in SOURCES:
        a, b = source_samples(args, "sface-2021dec", n), source_samples(args, "dlib-resnet-v1", n)
        for t in pop.PAIR_TYPES:
            ia, ib, same = pop.pairs(a, t)
            with np.errstate(invalid="ignore"):
                sa = 1 - np.linalg.norm(a.vectors[ia] - a.vectors[ib], axis=1) ** 2 / 2
                sb = 1 - np.linalg.norm(b.vectors[ia] - b.vectors[ib], axis=1) ** 2 / 2
            row = {}
            for w in FUSION_WEIGHTS:
                d = -(sa + w * sb)
                d = np.where(np.isfinite(d), d, np.inf)
                row[f"{w:g}"] = pop.tar_at_far(d[same], d[~same], 1e-3)
            out[f"{n}/{t}"] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    ap.add_argument("--cards", type=Path, default=None, help="folder holding cards-<source>/ (make_card_set.py)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/facematch-networks"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/networks.json")
    args = ap.parse_args()
    networks = args.networks.split(",")
    for network in networks:
        for name in SOURCES:
            source_samples(args, network, name)
        for name in OTHER_SETS:
            other_set(args, network, name)
    if args.embed_only:
        return
    from facematch import artifacts
    from facematch.artifacts.calibration import Calibration
    from facematch.scoring import default_calibration

    result: dict[str, Any] = {"machine": machine.describe(), "date": dt.date.today().isoformat(),
                              "command": COMMAND, "targets": {"75": TARGETS[0], "65": TARGETS[1]}, "networks": {}}
    for network in networks:
        samples = {n: source_samples(args, network, n) for n in SOURCES}
        entry: dict[str, Any] = {}
        if network == "sface-2021dec":
            t0 = time.time()
            entry["held_out_folds"] = held_out_folds(samples)
            entry["leave_one_source_out"] = leave_one_source_out(samples)
            print(f"held-out figures in {time.time() - t0:.0f} s", flush=True)
        cal = artifacts.load(Calibration, version=default_calibration(network))
        entry["calibration"] = cal.version
        entry["dev"] = dev_figures(args, network, [list(k) for k in zip(cal.distances, cal.percents, strict=True)],
                                   samples)
        result["networks"][network] = entry
    if set(NETWORKS) <= set(networks):
        result["fusion_tar_at_far_1e-3"] = fusion(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine.write_result(args.out, result, indent=2)
    print(f"wrote {args.out}")
    summarise(result)


def _p(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def summarise(result: dict[str, Any]) -> None:
    """The side-by-side table docs/accuracy.md shows."""
    nets = list(result["networks"])
    print("| data set | network | FTA | TAR @ FAR 1e-2 / 1e-3 / 1e-4 | FAR > 75 | FAR ≥ 65 | genuine > 75 / ≥ 65 |")
    print("|---|---|---|---|---|---|---|")
    for key in result["networks"][nets[0]]["dev"]:
        for net in nets:
            r = result["networks"][net]["dev"][key]
            t = r["tar_at_far"]
            extra = ""
            if "accuracy_10fold" in r:
                extra = f" (10-fold acc. {100 * r['accuracy_10fold']['mean']:.2f} %)"
            print(f"| {key}{extra} | {net} | {r['fta']['no_face']}/{r['fta']['images']} | "
                  f"{_p(t['0.01'])} / {_p(t['0.001'])} / {_p(t['0.0001'])} | "
                  f"{r['far_above_75']['k']}/{r['far_above_75']['n']} | {r['far_at_or_above_65']['k']}/"
                  f"{r['far_at_or_above_65']['n']} | {_p(r['tar_above_75'])} / {_p(r['tar_at_or_above_65'])} |")
    if "fusion_tar_at_far_1e-3" in result:
        print("\nfusion (SFace cos + w * dlib cos), TAR at FAR 1e-3:")
        for key, row in result["fusion_tar_at_far_1e-3"].items():
            print(f"  {key:24s} " + "  ".join(f"w={w}: {_p(v)}" for w, v in row.items()))
    sf = result["networks"].get("sface-2021dec", {})
    if "held_out_folds" in sf:
        print("\nheld out (5 identity folds x 3 splits):")
        for key, r in sf["held_out_folds"]["sets"].items():
            a, b = r["far_above_75"], r["far_at_or_above_65"]
            print(f"  {key:24s} FAR>75 {a['k']}/{a['n']} CI(people) {a['people_ci95'][1]:.4%} | FAR>=65 "
                  f"{b['k']}/{b['n']} ({b['rate']:.3%}) CI {b['people_ci95'][1]:.3%} | gen>75 "
                  f"{_p(r['genuine_above_75']['rate'])} >=65 {_p(r['genuine_at_or_above_65']['rate'])}")
        print("leave one source out:")
        for n, r in sf["leave_one_source_out"].items():
            for t in pop.PAIR_TYPES:
                a, b = r[t]["far_above_75"], r[t]["far_at_or_above_65"]
                print(f"  {n:11s} {t:11s} d75 {r['d75']:.3f} FAR>75 {a['k']}/{a['n']} FAR>=65 {b['k']}/{b['n']} "
                      f"({b['rate']:.2%}) gen>75 {_p(r[t]['genuine_above_75']['rate'])} >=65 "
                      f"{_p(r[t]['genuine_at_or_above_65']['rate'])}")


if __name__ == "__main__":
    main()
