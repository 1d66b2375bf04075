"""Per-population measurement and a calibration whose false-accept rates hold
on people it was not fitted on.

Images are labelled by identity (the person folder) and by kind ("photo",
or "card" for a photographed card printed from one of the photos). Pairs are
built among a set of identities: photo-photo (every unordered pair of
photos) and card-photo (the card of one image against every *other* photo;
a card is never paired with the photo it was printed from). Folds split the
identities, never the images, so a fitted threshold is always measured on
people it has not seen.

The fitting rule (``thresholds``, rule "tail") accounts for what a
false-accept rate of 0.1 % rests on here: a handful of look-alike couples of
people, whose image pairs fall below a threshold together. The people are
resampled (a bootstrap over identities, not pairs) and the strict end of the
resulting thresholds kept; each resampling's threshold is also held to a
normal model of the lower half of the impostor distances, so that a
look-alike couple the fitting people lack, and that the empirical tail
therefore cannot show, is still provided for. Three rules were compared on
the same identity-disjoint folds (``docs/accuracy.md`` gives all three);
that choice was made on those folds and is disclosed there.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facematch.fit.calibrate import FAR_AT_MATCH, FAR_AT_REVIEW, document, knots

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PHOTO = "photo"
CARD = "card"
PAIR_TYPES = ("photo-photo", "card-photo")


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    """``path1 path2 label [fold]`` per line; blank lines and ``#`` comments skipped."""
    out = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and not parts[0].startswith("#"):
            out.append((parts[0], parts[1], int(parts[2])))
    return out


def identity_of(path: str) -> str:
    """The person folder an image lies in."""
    return Path(path).parent.name


# --------------------------------------------------------------- statistics


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def _log_binom_coefficients(k: int, n: int) -> Array:
    """log C(n, i) for i = 0..k, as a running sum (no per-term lgamma)."""
    i = np.arange(1, k + 1, dtype=np.float64)
    return np.concatenate([[0.0], np.cumsum(np.log(n - i + 1) - np.log(i))])


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if 0.0 < p < 1.0:
        i = np.arange(k + 1, dtype=np.float64)
        logs = _log_binom_coefficients(k, n) + i * math.log(p) + (n - i) * math.log1p(-p)
    else:
        logs = np.array([_log_binom_pmf(j, n, p) for j in range(k + 1)])
    top = float(logs.max())
    if not math.isfinite(top):
        return 0.0
    return float(min(1.0, math.exp(top) * float(np.exp(logs - top).sum())))


def _bisect(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of an increasing ``f`` on [lo, hi]."""
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def cp_upper(k: int, n: int, alpha: float = 0.05) -> float:
    """One-sided Clopper-Pearson upper bound: the p at which P(X <= k) = alpha."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    return _bisect(lambda p: alpha - binom_cdf(k, n, p), 0.0, 1.0)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion k / n."""
    if n <= 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else 1.0 - cp_upper(n - k, n, alpha / 2)
    hi = 1.0 if k == n else cp_upper(k, n, alpha / 2)
    return lo, hi


def rate(k: int, n: int) -> dict[str, Any]:
    """A rate with its counts and its 95 % Clopper-Pearson interval."""
    lo, hi = clopper_pearson(k, n)
    return {"k": int(k), "n": int(n), "rate": k / n if n else None, "ci95": [lo, hi]}


# ------------------------------------------------------------------ metrics


def tar_at_far(genuine: Array, impostor: Array, far: float) -> float | None:
    """Share of genuine pairs accepted at the distance threshold that accepts
    at most ``far`` of the impostors (accept when distance < threshold); None
    when there are fewer than ``1 / far`` impostor pairs."""
    n = len(impostor)
    if n == 0 or n * far < 1 - 1e-9:
        return None
    d = np.sort(impostor)
    k = int(math.floor(far * n + 1e-9))
    t = d[k] if k < n else math.inf
    return float(np.mean(genuine < t)) if len(genuine) else None


def conservative_distance(impostor: Array, far: float, alpha: float = 0.05) -> float:
    """Largest distance threshold ``t`` (accept when distance < t) such that
    the one-sided (1 - alpha) Clopper-Pearson upper bound on the share of
    impostor pairs below ``t`` does not exceed ``far``. Raises ValueError when
    there are too few impostor pairs for any threshold to meet that."""
    d = np.sort(impostor[np.isfinite(impostor)])
    n = len(d)
    if cp_upper(0, n, alpha) > far:
        raise ValueError(f"{n} impostor pairs cannot show a FAR of {far:g} "
                         f"(need at least {math.ceil(math.log(alpha) / math.log1p(-far))})")
    k = 0
    while k + 1 < n and cp_upper(k + 1, n, alpha) <= far:
        k += 1
    # k impostors may lie below the threshold: put it just under the (k+1)-th.
    return float(d[k] - 1e-6) if k < n else float(d[-1])


@dataclass(frozen=True)
class Impostors:
    """Impostor-pair distances with the two people of each pair (indices)."""

    d: Array
    a: IntArray
    b: IntArray

    @staticmethod
    def concat(parts: Sequence[Impostors]) -> Impostors:
        return Impostors(np.concatenate([p.d for p in parts]), np.concatenate([p.a for p in parts]),
                         np.concatenate([p.b for p in parts]))


LOWER_SD = 0.158655  # Phi(-1): one standard deviation below the median of a normal law


def _sorted_finite(imp: Impostors) -> tuple[Array, IntArray, IntArray]:
    ok = np.isfinite(imp.d)
    d, a, b = imp.d[ok], imp.a[ok], imp.b[ok]
    order = np.argsort(d)
    return d[order], a[order], b[order]


def bootstrap_distances(imp: Impostors, fars: Sequence[float], alpha: float = 0.05, rounds: int = 1000,
                        seed: int = 0, tail_model: bool = False) -> Array:
    """The ``alpha`` quantile (the strict end) of the distance threshold at
    each of ``fars``, over ``rounds`` resamplings of the *people* with
    replacement (the same resamplings for every target).

    Impostor pairs are not independent: the image pairs of two look-alike
    people fall below a threshold together, and one such couple among a few
    hundred carries a FAR of 0.1 % by itself. Resampling people (a couple of
    people drawn ``i`` and ``j`` times weighs ``i * j``) lets the threshold
    move as much as the people in the set make it move.

    With ``tail_model`` each resampling's threshold is the stricter of the
    empirical one and a Gaussian model of the lower half of the impostor
    distances (centre: the median; spread: the median minus the 15.87th
    percentile, one standard deviation of a normal law): the threshold at
    which that model's FAR equals the target. A couple of look-alike people
    that the fitting people lack is absent from the empirical tail, but the
    bulk of the distribution, which the model extrapolates from, is measured
    on every couple."""
    d, a, b = _sorted_finite(imp)
    if len(d) == 0:
        return np.full(len(fars), np.inf)
    people = int(max(a.max(), b.max())) + 1
    rng = np.random.default_rng(seed)
    out = np.empty((rounds, len(fars)))
    targets = np.asarray(fars, dtype=np.float64)
    z = np.array([statistics.NormalDist().inv_cdf(f) for f in fars])
    for r in range(rounds):
        c = np.bincount(rng.integers(0, people, people), minlength=people).astype(np.float64)
        cum = np.cumsum(c[a] * c[b])
        k = np.searchsorted(cum, targets * cum[-1], side="right")  # pairs below stay within far
        out[r] = np.where(k < len(d), d[np.minimum(k, len(d) - 1)] - 1e-6, d[-1])
        if tail_model:
            med, lo = d[np.minimum(np.searchsorted(cum, np.array([0.5, LOWER_SD]) * cum[-1]), len(d) - 1)]
            out[r] = np.minimum(out[r], med + z * (med - lo))
    result: Array = np.quantile(out, alpha, axis=0)
    return result



def bootstrap_distance(imp: Impostors, far: float, alpha: float = 0.05, rounds: int = 1000, seed: int = 0) -> float:
    """``bootstrap_distances`` for one target."""
    return float(bootstrap_distances(imp, [far], alpha, rounds, seed)[0])


def percents(kn: Sequence[Sequence[float]], distances: Array) -> Array:
    d = np.array([k[0] for k in kn])
    p = np.array([k[1] for k in kn])
    out: Array = np.interp(np.where(np.isfinite(distances), distances, 10.0), d, p)
    return out


RULES = ("tail", "bootstrap", "pairs")


def thresholds(impostors: Mapping[str, Impostors], rule: str = "tail", alpha: float = 0.05,
               targets: tuple[float, float] = (FAR_AT_MATCH, FAR_AT_REVIEW)) -> tuple[float, float]:
    """``(d75, d65)``: accept as a match when distance < d75, review when
    distance <= d65. ``rule`` "bootstrap": ``bootstrap_distance`` (people
    resampled) at the target; "tail" (the default): the same, each
    resampling's threshold made no looser than a normal model of the lower
    half of the impostor distances allows (``bootstrap_distances``);
    "pairs": ``conservative_distance`` (pairs taken as independent, which
    they are not). "bootstrap" and "pairs" are kept for comparison. Each
    impostor set is fitted separately and the strictest threshold kept; a
    set without a finite distance (a fold too small to pair two people)
    constrains nothing. ``targets``: the FAR at 75 % and at 65 %."""
    far75, far65 = targets
    impostors = {k: v for k, v in impostors.items() if np.isfinite(v.d).any()}
    if not impostors:
        raise ValueError("no impostor pairs to fit thresholds on: too few people")
    if rule == "tail":  # both targets on the same resamplings
        both = np.array([bootstrap_distances(v, [far75, far65], alpha, tail_model=True)
                         for v in impostors.values()])
        d75, d65 = float(both[:, 0].min()), float(both[:, 1].min())
    elif rule == "bootstrap":
        d75 = min(bootstrap_distance(v, far75, alpha) for v in impostors.values())
        d65 = min(bootstrap_distance(v, far65, alpha) for v in impostors.values())
    elif rule == "pairs":
        d75 = min(conservative_distance(v.d, far75, alpha) for v in impostors.values())
        d65 = min(conservative_distance(v.d, far65, alpha) for v in impostors.values())
    else:
        raise ValueError(f"unknown rule {rule!r}")
    return d75, max(d65, d75 + 1e-4)


def thresholds_across_sources(by_source: Mapping[str, Mapping[str, Impostors]], rule: str = "tail",
                              alpha: float = 0.05, targets: tuple[float, float] = (FAR_AT_MATCH, FAR_AT_REVIEW),
                              ) -> tuple[float, float, dict[str, Any]]:
    """``(d75, d65, detail)`` for impostor sets from several sources (people, cameras, data sets).

    ``thresholds`` over every source's sets (the strictest kept), then made
    stricter by the cross-source margin: for each source, how much looser the
    thresholds fitted on the *other* sources are than the ones its own pairs
    need; the largest such shortfall (per target, never negative) is taken
    off. A source the service meets in use may lie as far from the fitted ones
    as the farthest development source lies from the rest; with one source
    there is nothing to measure that by, and no margin."""
    sources = {k: v for k, v in by_source.items() if any(np.isfinite(s.d).any() for s in v.values())}
    pooled = {f"{n}/{t}": s for n, sets in sources.items() for t, s in sets.items()}
    full = np.array(thresholds(pooled, rule, alpha, targets))
    gaps: dict[str, list[float]] = {}
    if len(sources) > 1:
        for held in sources:
            others = {f"{n}/{t}": s for n, sets in sources.items() if n != held for t, s in sets.items()}
            without = np.array(thresholds(others, rule, alpha, targets))
            own = np.array(thresholds(sources[held], rule, alpha, targets))
            gaps[held] = (without - own).tolist()
    margin = np.max(np.array(list(gaps.values())), axis=0).clip(min=0) if gaps else np.zeros(2)
    d75, d65 = (full - margin).tolist()
    detail = {"strictest_over_sources": full.tolist(), "margin": margin.tolist(), "shortfall_by_held_out_source": gaps}
    return d75, max(d65, d75 + 1e-4), detail


CROSS_SOURCE_TEXT = (
    "; fitted on every source's impostor sets (each source's photo-photo and card-photo pairs), strictest kept, "
    "then made stricter by the cross-source margin: the largest amount by which thresholds fitted on the other "
    "sources were looser than a held-out source's own (thresholds_across_sources)")

RULE_TEXT = {
    "tail": "the 5th percentile, over 1000 resamplings of the people with replacement, of the stricter of the "
            "distance at which the impostor pairs' FAR meets the target and the distance at which a normal model "
            "of the impostor distances' lower half (median; median - 15.87th percentile) gives the target; on each "
            "impostor set; strictest kept",
    "bootstrap": "the 5th percentile, over 1000 resamplings of the people with replacement, of the distance at which "
                 "the impostor pairs' FAR meets the target; on each impostor set; strictest kept",
    "pairs": "largest distance whose one-sided 95 % Clopper-Pearson upper bound on the training FAR meets the "
             "target, pairs taken as independent; on each impostor set; strictest kept",
}


def fit_conservative(genuine: Array, impostors: Mapping[str, Impostors], *, model: str, data: str, command: str,
                     version: str, rule: str = "tail", extra: Mapping[str, Any] | None = None,
                     targets: tuple[float, float] = (FAR_AT_MATCH, FAR_AT_REVIEW),
                     by_source: Mapping[str, Mapping[str, Impostors]] | None = None) -> dict[str, Any]:
    """A calibration document (schema ``facematch-calibration/1``, ``artifacts.calibration``)
    whose thresholds follow ``thresholds(impostors, rule, targets=targets)``; with ``by_source`` (impostor
    sets per source) they follow ``thresholds_across_sources`` instead, and ``impostors`` are those sets."""
    genuine = genuine[np.isfinite(genuine)]
    rule_text = RULE_TEXT[rule]
    if by_source is not None:
        impostors = {f"{n}/{t}": s for n, sets in by_source.items() for t, s in sets.items()}
        d75, d65, detail = thresholds_across_sources(by_source, rule, targets=targets)
        rule_text += CROSS_SOURCE_TEXT
        extra = {**(extra or {}), "cross_source": detail}
    else:
        d75, d65 = thresholds(impostors, rule, targets=targets)
    sets = {k: v.d[np.isfinite(v.d)] for k, v in impostors.items()}
    pooled = np.concatenate(list(sets.values()))
    fitted_on: dict[str, Any] = {
        "genuine_pairs": int(len(genuine)),
        "impostor_pairs": int(len(pooled)),
        "far_at_75": float(np.mean(pooled < d75)),
        "far_at_65": float(np.mean(pooled <= d65)),
        "gar_at_75": float(np.mean(genuine < d75)),
        "gar_at_65": float(np.mean(genuine <= d65)),
        "impostor_sets": {k: {"pairs": int(len(v)), "far_at_75": float(np.mean(v < d75)),
                              "far_at_65": float(np.mean(v <= d65))} for k, v in sets.items()},
    }
    doc = document(version=version, model=model, data=data, command=command, targets=targets, fitted_on=fitted_on,
                   knot_list=knots(d75, d65, pooled), rule=f"{rule_text} (impostor sets: {', '.join(sets)})")
    if extra:
        doc.update(extra)
    return doc


# -------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Samples:
    """Embeddings (NaN rows: no face found) labelled by identity, source image and kind."""

    vectors: Array  # (n, d)
    identity: tuple[str, ...]
    source: tuple[str, ...]  # the photo an image is (or was printed from)
    kind: tuple[str, ...]  # PHOTO or CARD
    #: The photo pairs ``(source, source)`` (both orders) that exist, where a data set's pair list restricts them
    #: to the capture conditions of its genuine pairs (studio headshot vs show frame); None: every pair.
    allowed: frozenset[tuple[str, str]] | None = None

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, str, npt.ArrayLike | None]], dims: int, *,
              allowed: frozenset[tuple[str, str]] | None = None) -> Samples:
        """From ``(identity, source, kind, vector or None)``."""
        rows = list(items)
        v = np.full((len(rows), dims), np.nan)
        for i, (_, _, _, vec) in enumerate(rows):
            if vec is not None:
                v[i] = np.asarray(vec, dtype=np.float64)
        return cls(v, tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows), allowed)

    def select(self, identities: Iterable[str]) -> Samples:
        keep = set(identities)
        idx = [i for i, p in enumerate(self.identity) if p in keep]
        return Samples(self.vectors[idx], tuple(self.identity[i] for i in idx),
                       tuple(self.source[i] for i in idx), tuple(self.kind[i] for i in idx), self.allowed)

    def with_vectors(self, vectors: Array) -> Samples:
        return Samples(vectors, self.identity, self.source, self.kind, self.allowed)

    def identities(self) -> list[str]:
        return sorted(set(self.identity))


def pairs(s: Samples, pair_type: str) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Indices ``(a, b)`` of every pair of ``pair_type`` and whether each is genuine."""
    kinds = np.array(s.kind)
    ident = np.array(s.identity)
    src = np.array(s.source)
    n = len(kinds)
    grid_a, grid_b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ia, ib = grid_a.ravel(), grid_b.ravel()
    if pair_type == "photo-photo":
        keep = (kinds[ia] == PHOTO) & (kinds[ib] == PHOTO) & (ia < ib)
    elif pair_type == "card-photo":
        keep = (kinds[ia] == CARD) & (kinds[ib] == PHOTO) & (src[ia] != src[ib])
    else:
        raise ValueError(f"unknown pair type {pair_type!r}")
    if s.allowed is not None:
        cand = np.nonzero(keep)[0]
        keep[cand] = [(src[ia[i]], src[ib[i]]) in s.allowed for i in cand]
    a, b = ia[keep].astype(np.int64), ib[keep].astype(np.int64)
    return a, b, ident[a] == ident[b]


def distances(s: Samples, pair_type: str) -> tuple[Array, Array]:
    """``(genuine, impostor)`` distances; a pair with a missing face is +inf
    (never accepted, never dropped)."""
    a, b, same = pairs(s, pair_type)
    d = np.linalg.norm(s.vectors[a] - s.vectors[b], axis=1)
    d = np.where(np.isfinite(d), d, np.inf)
    return d[same], d[~same]


def impostor_set(s: Samples, pair_type: str) -> Impostors:
    """The impostor pairs of ``pair_type`` with their people, as indices into ``s.identities()``."""
    a, b, same = pairs(s, pair_type)
    d = np.linalg.norm(s.vectors[a] - s.vectors[b], axis=1)
    d = np.where(np.isfinite(d), d, np.inf)
    index = {p: i for i, p in enumerate(s.identities())}
    code = np.array([index[p] for p in s.identity], dtype=np.int64)
    return Impostors(d[~same], code[a[~same]], code[b[~same]])


def identity_folds(identities: Iterable[str], k: int = 5, seed: int = 0) -> list[list[str]]:
    """``k`` disjoint groups of identities (sorted, then shuffled by ``seed``)."""
    ids = sorted(set(identities))
    if len(ids) < k:
        raise ValueError(f"{len(ids)} identities cannot make {k} folds")
    order = np.random.default_rng(seed).permutation(len(ids))
    return [sorted(ids[i] for i in order[f::k]) for f in range(k)]


# -------------------------------------------------------- held-out measurement

Transform = Callable[[Array], Array]
TransformFit = Callable[[Samples], Transform]


def _held_out_counts(gen: Array, imp: Array, d75: float, d65: float) -> dict[str, int]:
    return {"genuine": len(gen), "impostor": len(imp),
            "fa75": int(np.sum(imp < d75)), "fa65": int(np.sum(imp <= d65)),
            "ga75": int(np.sum(gen < d75)), "ga65": int(np.sum(gen <= d65))}


def held_out(s: Samples, *, k: int = 5, seed: int = 0, pair_types: Sequence[str] = PAIR_TYPES,
             fit_types: Sequence[str] | None = None, transform_fit: TransformFit | None = None,
             calibrate_inner: int = 0, rule: str = "tail",
             targets: tuple[float, float] = (FAR_AT_MATCH, FAR_AT_REVIEW)) -> dict[str, Any]:
    """For each identity fold: fit the thresholds (``thresholds`` with
    ``rule``) on the other folds' impostor pairs of ``fit_types`` (default: all
    ``pair_types``), then count false and genuine accepts at 75 % and 65 % on
    the pairs among the held-out fold's people. With ``transform_fit`` the
    embedding transform is fitted on the training folds first; its
    thresholds are then fitted on distances of training identities that the
    transform did not see (``calibrate_inner`` inner identity folds;
    required with a transform). Returns per-fold and pooled counts, rates
    with 95 % Clopper-Pearson intervals, and TAR at FAR 1e-3 per fold."""
    fit_types = list(fit_types or pair_types)
    folds = identity_folds(s.identities(), k, seed)
    per_fold: list[dict[str, Any]] = []
    pooled: dict[str, dict[str, int]] = {t: {} for t in pair_types}
    held_dist: dict[str, tuple[list[Array], list[Array]]] = {t: ([], []) for t in pair_types}
    for f, test_ids in enumerate(folds):
        train_ids = [i for g, fold in enumerate(folds) if g != f for i in fold]
        train, test = s.select(train_ids), s.select(test_ids)
        if transform_fit is None:
            imp_train = {t: impostor_set(train, t) for t in fit_types}
        else:
            if calibrate_inner < 2:
                raise ValueError("a fitted transform needs calibrate_inner >= 2 (identity-disjoint calibration)")
            imp_train = cross_fitted_impostors(train, transform_fit, fit_types, calibrate_inner, seed + 1 + f)
            transform = transform_fit(train)
            test = test.with_vectors(transform(test.vectors))
        d75, d65 = thresholds(imp_train, rule, targets=targets)
        row: dict[str, Any] = {"fold": f, "identities": test_ids, "d75": d75, "d65": d65}
        for t in pair_types:
            gen, imp = distances(test, t)
            held_dist[t][0].append(gen)
            held_dist[t][1].append(imp)
            c = _held_out_counts(gen, imp, d75, d65)
            row[t] = {**c, "tar_at_far_1e-3": tar_at_far(gen, imp, 1e-3), "tar_at_far_1e-2": tar_at_far(gen, imp, 1e-2)}
            for key, v in c.items():
                pooled[t][key] = pooled[t].get(key, 0) + v
        per_fold.append(row)
    summary: dict[str, Any] = {}
    for t in pair_types:
        c = pooled[t]
        gen_all = np.concatenate(held_dist[t][0])
        imp_all = np.concatenate(held_dist[t][1])
        summary[t] = {
            "far_at_75": rate(c["fa75"], c["impostor"]), "far_at_65": rate(c["fa65"], c["impostor"]),
            "tar_at_75": rate(c["ga75"], c["genuine"]), "tar_at_65": rate(c["ga65"], c["genuine"]),
            "tar_at_far_1e-3_mean_of_folds": float(np.mean([r[t]["tar_at_far_1e-3"] for r in per_fold
                                                            if r[t]["tar_at_far_1e-3"] is not None] or [np.nan])),
            # Distances from different folds live in differently fitted spaces
            # when a transform is used; pooled ROC figures are then indicative.
            "tar_at_far_1e-3_pooled": tar_at_far(gen_all, imp_all, 1e-3),
            "tar_at_far_1e-2_pooled": tar_at_far(gen_all, imp_all, 1e-2),
        }
    return {"folds": k, "seed": seed, "rule": rule, "fit_types": fit_types, "per_fold": per_fold, "pooled": summary}


def cross_fitted_impostors(train: Samples, transform_fit: TransformFit, pair_types: Sequence[str],
                           inner: int, seed: int) -> dict[str, Impostors]:
    """Impostor distances of ``train``'s pairs in the transformed space, each
    pair measured by a transform fitted without its identities: the
    identities are split into ``inner`` folds, a transform is fitted on the
    others and applied to the fold's own pairs (pairs across inner folds are
    not used)."""
    index = {p: i for i, p in enumerate(train.identities())}
    out: dict[str, list[Impostors]] = {t: [] for t in pair_types}
    for part in _cross_fitted_parts(train, transform_fit, inner, seed):
        remap = np.array([index[p] for p in part.identities()], dtype=np.int64)
        for t in pair_types:
            imp = impostor_set(part, t)
            out[t].append(Impostors(imp.d, remap[imp.a], remap[imp.b]))
    return {t: Impostors.concat(v) for t, v in out.items()}


def _cross_fitted_parts(train: Samples, transform_fit: TransformFit, inner: int, seed: int) -> Iterator[Samples]:
    """Per inner fold of ``train``'s identities, that fold's samples in the space of a transform fitted on
    the other folds."""
    for ids in identity_folds(train.identities(), inner, seed):
        rest = [i for i in train.identities() if i not in set(ids)]
        tr = transform_fit(train.select(rest))
        part = train.select(ids)
        yield part.with_vectors(tr(part.vectors))


def cross_fitted_genuine(train: Samples, transform_fit: TransformFit, pair_types: Sequence[str],
                         inner: int, seed: int) -> dict[str, Array]:
    """As ``cross_fitted_impostors``, for the genuine pairs."""
    out: dict[str, list[Array]] = {t: [] for t in pair_types}
    for part in _cross_fitted_parts(train, transform_fit, inner, seed):
        for t in pair_types:
            out[t].append(distances(part, t)[0])
    return {t: np.concatenate(v) for t, v in out.items()}


def score_summary(genuine: Array, impostor: Array, kn: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Impostor matching-percent distribution, FAR at > 75 % and >= 65 %, TAR
    at FAR 1e-2 / 1e-3 / 1e-4 (None where the impostor count does not allow)."""
    pi = percents(kn, impostor)
    pg = percents(kn, genuine)
    # The decision is taken on the percent rounded to 2 decimals, as reported.
    pi_r, pg_r = np.round(pi, 2), np.round(pg, 2)
    return {
        "genuine_pairs": int(len(genuine)), "impostor_pairs": int(len(impostor)),
        "impostor_matching_percentiles": {str(q): float(np.percentile(pi, q)) for q in (50, 90, 99, 99.9)},
        "far_above_75": rate(int(np.sum(pi_r > 75)), len(pi)),
        "far_at_or_above_65": rate(int(np.sum(pi_r >= 65)), len(pi)),
        "tar_above_75": float(np.mean(pg_r > 75)) if len(pg) else None,
        "tar_at_or_above_65": float(np.mean(pg_r >= 65)) if len(pg) else None,
        "tar_at_far": {f"{f:g}": tar_at_far(genuine, impostor, f) for f in (1e-2, 1e-3, 1e-4)},
    }
