"""Thresholds fitted across sources, and the checks of that rule on people
and sources it was not fitted on.

``fit_thresholds`` applies ``population.thresholds_across_sources`` (each
source's photo-photo and card-photo impostor pairs a separate set, the
strictest threshold kept, then the cross-source margin taken off);
``held_out_folds`` fits it on ``k - 1`` identity folds of every source and
counts the last; ``leave_one_source_out`` fits it on all sources but one and
counts that one. Used by ``tools.fit_calibration`` (whose artefact records
these held-out figures) and ``benchmarks.networks``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from facematch.fit import population as pop
from facematch.fit.population import Array, IntArray

TARGETS = (1e-4, 1e-2)  # FAR above 75 %, at or above 65 %
RULE = "tail"
#: Fold splits of the single-source held-out check (``held_out_all``).
HELD_OUT_SEEDS = (0, 1, 2, 3, 4)


def people_interval(accepts: Array, a: IntArray, b: IntArray, rounds: int = 1000, seed: int = 0) -> list[float]:
    """95 % interval of an impostor accept rate, bootstrapped over the people (pairs weigh the product of how
    often their two people are drawn), with ``a``/``b`` the pairs' person codes."""
    if len(accepts) == 0:
        return [0.0, 1.0]
    people = int(max(a.max(), b.max())) + 1
    rng = np.random.default_rng(seed)
    out = np.empty(rounds)
    for r in range(rounds):
        c = np.bincount(rng.integers(0, people, people), minlength=people).astype(np.float64)
        w = c[a] * c[b]
        out[r] = float((w * accepts).sum() / w.sum()) if w.sum() else 0.0
    return [float(np.quantile(out, 0.025)), float(np.quantile(out, 0.975))]


def held_out_rates(tests: list[tuple[pop.Impostors, Array, float, float]]) -> dict[str, Any]:
    """Pooled held-out counts over folds: each entry (impostors with person codes made unique across entries,
    genuine distances, d75, d65)."""
    off = 0
    acc75, acc65, pa, pb, g75, g65, ng = [], [], [], [], 0, 0, 0
    for imp, gen, d75, d65 in tests:
        ok = np.isfinite(imp.d)
        acc75.append((imp.d < d75) & ok)
        acc65.append((imp.d <= d65) & ok)
        pa.append(imp.a + off)
        pb.append(imp.b + off)
        off += int(max(imp.a.max(initial=0), imp.b.max(initial=0))) + 1
        g75 += int(np.sum(gen < d75))
        g65 += int(np.sum(gen <= d65))
        ng += len(gen)
    a75, a65 = np.concatenate(acc75).astype(float), np.concatenate(acc65).astype(float)
    a, b = np.concatenate(pa), np.concatenate(pb)
    n = len(a75)
    return {"far_above_75": {**pop.rate(int(a75.sum()), n), "people_ci95": people_interval(a75, a, b)},
            "far_at_or_above_65": {**pop.rate(int(a65.sum()), n), "people_ci95": people_interval(a65, a, b)},
            "genuine_above_75": pop.rate(g75, ng), "genuine_at_or_above_65": pop.rate(g65, ng)}


def impostor_sets(samples: dict[str, pop.Samples]) -> dict[str, dict[str, pop.Impostors]]:
    """Per source, one impostor set per pair type (``pop.thresholds_across_sources``)."""
    return {n: {t: pop.impostor_set(s, t) for t in pop.PAIR_TYPES} for n, s in samples.items()}


def fit_thresholds(samples: dict[str, pop.Samples]) -> tuple[float, float]:
    """(d75, d65) by the shipped rule over every source in ``samples``."""
    d75, d65, _ = pop.thresholds_across_sources(impostor_sets(samples), RULE, targets=TARGETS)
    return d75, d65


def held_out_folds(samples: dict[str, pop.Samples], k: int = 5, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """Thresholds fitted on ``k - 1`` identity folds of every source, counted on the last fold of each; every
    fold in turn, for each fold split (``seeds``); pooled per source and pair type, and over all."""
    tests: dict[str, list[tuple[pop.Impostors, Array, float, float]]] = {}
    fitted = []
    for seed in seeds:
        folds = {n: pop.identity_folds(s.identities(), k, seed) for n, s in samples.items()}
        for f in range(k):
            train = {n: s.select([i for g, fold in enumerate(folds[n]) if g != f for i in fold])
                     for n, s in samples.items()}
            d75, d65 = fit_thresholds(train)
            fitted.append([d75, d65])
            for n, s in samples.items():
                test = s.select(folds[n][f])
                for t in pop.PAIR_TYPES:
                    gen, _ = pop.distances(test, t)
                    for key in (f"{n}/{t}", "all"):
                        tests.setdefault(key, []).append((pop.impostor_set(test, t), gen, d75, d65))
    d = np.array(fitted)
    return {"folds": k, "seeds": list(seeds), "thresholds_d75_d65_range": [d.min(0).tolist(), d.max(0).tolist()],
            "sets": {key: held_out_rates(v) for key, v in tests.items()}}


def leave_one_source_out(samples: dict[str, pop.Samples]) -> dict[str, Any]:
    """Fitted on every source but one, counted on all pairs of that one."""
    out: dict[str, Any] = {}
    for held in samples:
        d75, d65 = fit_thresholds({n: s for n, s in samples.items() if n != held})
        row: dict[str, Any] = {"d75": d75, "d65": d65}
        for t in pop.PAIR_TYPES:
            gen, _ = pop.distances(samples[held], t)
            row[t] = held_out_rates([(pop.impostor_set(samples[held], t), gen, d75, d65)])
        out[held] = row
    return out


def held_out_all(asian: pop.Samples, rule: str, seeds: tuple[int, ...] = HELD_OUT_SEEDS,
                 targets: tuple[float, float] = TARGETS, workers: int = 1) -> dict[str, Any]:
    """``rule`` on 5 identity folds, for each fold split of ``seeds`` (``workers`` processes)."""
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as ex:
            runs = list(ex.map(_held_out_split, [(asian, s, rule, targets) for s in seeds]))
    else:
        runs = [pop.held_out(asian, k=5, seed=s, rule=rule, targets=targets) for s in seeds]
    pooled: dict[str, Any] = {}
    for t in pop.PAIR_TYPES:
        row: dict[str, Any] = {}
        for key in ("far_at_75", "far_at_65", "tar_at_75", "tar_at_65"):
            k = sum(r["pooled"][t][key]["k"] for r in runs)
            n = sum(r["pooled"][t][key]["n"] for r in runs)
            row[key] = pop.rate(k, n)
            row[key]["per_split"] = [round(r["pooled"][t][key]["rate"], 5) for r in runs]
        row["tar_at_far_1e-3_pooled_per_split"] = [r["pooled"][t]["tar_at_far_1e-3_pooled"] for r in runs]
        pooled[t] = row
    return {"rule": pop.RULE_TEXT[rule], "folds": 5, "fold_splits": list(seeds), "pooled_over_splits": pooled,
            "note": ("every pair is counted once per split (5 splits of the same 40 people), so the pooled counts "
                     "repeat the same pairs; the intervals treat pairs as independent, which they are not (look-alike "
                     "couples of people fail together): read them as too narrow"),
            "split_0": runs[0]}


def _held_out_split(job: tuple[pop.Samples, int, str, tuple[float, float]]) -> dict[str, Any]:
    asian, seed, rule, targets = job
    return pop.held_out(asian, k=5, seed=seed, rule=rule, targets=targets)


def held_out_cached(cache: Path, asian: pop.Samples, rule: str,
                    targets: tuple[float, float] = TARGETS) -> dict[str, Any]:
    """``held_out_all``, kept in the cache (keyed by the embeddings' checksum)."""
    key = hashlib.sha256(np.nan_to_num(asian.vectors, nan=9.0).tobytes()).hexdigest()[:12]
    f = cache / f"heldout-{rule}-{key}{'' if targets == (1e-3, 1e-2) else f'-{targets[0]:g}-{targets[1]:g}'}.json"
    if f.exists():
        return dict(json.loads(f.read_text()))
    r = held_out_all(asian, rule, targets=targets)
    f.write_text(json.dumps(r))
    return r
