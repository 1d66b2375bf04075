"""Identity-disjoint folds, pair building, intervals and the conservative threshold rules."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.fit import population as pop


def test_clopper_pearson_known_values() -> None:
    lo, hi = pop.clopper_pearson(0, 3000)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 3000), rel=1e-6)
    lo, hi = pop.clopper_pearson(5, 100)
    assert lo == pytest.approx(0.01643, abs=2e-5) and hi == pytest.approx(0.11284, abs=2e-5)
    assert pop.cp_upper(0, 2995) <= 1e-3 < pop.cp_upper(0, 2990)


def test_identity_folds_are_disjoint_and_cover() -> None:
    ids = [f"{i:03d}" for i in range(40)]
    folds = pop.identity_folds(ids, 5, seed=3)
    assert sorted(sum(folds, [])) == ids and all(len(f) == 8 for f in folds)
    assert folds == pop.identity_folds(reversed(ids), 5, seed=3)
    with pytest.raises(ValueError):
        pop.identity_folds(ids[:3], 5)


def samples() -> pop.Samples:
    rng = np.random.default_rng(0)
    items = []
    for p in range(10):
        c = rng.normal(size=8)
        for i in range(3):
            items.append((f"p{p}", f"p{p}/{i}", pop.PHOTO, c + 0.1 * rng.normal(size=8)))
            items.append((f"p{p}", f"p{p}/{i}", pop.CARD, None if (p, i) == (0, 0) else c + 0.2 * rng.normal(size=8)))
    return pop.Samples.build(items, 8)


def test_pairs_never_pair_a_card_with_its_own_photo() -> None:
    s = samples()
    a, b, same = pop.pairs(s, "card-photo")
    assert len(a) == 30 * 29 and same.sum() == 30 * 2
    assert all(s.source[i] != s.source[j] for i, j in zip(a, b, strict=True))
    g, i = pop.distances(s, "photo-photo")
    assert len(g) == 10 * 3 and len(i) == 435 - 30
    gc, ic = pop.distances(s, "card-photo")
    assert np.isinf(gc).sum() == 2 and np.isinf(ic).sum() == 27  # the missing card: rejected, never dropped


def test_a_pair_list_restricts_photo_and_card_pairs_to_its_capture_conditions() -> None:
    """Where a set's genuine pairs are shot 0 vs shot 1 or 2, so are its impostor pairs, and a card printed
    from a photo is paired only with the photos that photo is paired with."""
    full = samples()
    allowed = frozenset((f"p{p}/0", f"p{q}/{j}") for p in range(10) for q in range(10) for j in (1, 2))
    s = pop.Samples.build(zip(full.identity, full.source, full.kind, full.vectors, strict=True), 8,
                          allowed=allowed | frozenset((b, a) for a, b in allowed))
    for t in pop.PAIR_TYPES:
        a, b, same = pop.pairs(s, t)
        assert all({s.source[i][-1], s.source[j][-1]} in ({"0", "1"}, {"0", "2"}) for i, j in zip(a, b, strict=True))
    a, b, same = pop.pairs(s, "photo-photo")
    assert same.sum() == 10 * 2 and len(a) == 10 * 20
    a, b, same = pop.pairs(s, "card-photo")
    assert same.sum() == 10 * 4 and len(a) == 2 * 10 * 20  # shot-0 cards vs shots 1-2, and back
    assert pop.pairs(s.select(["p1", "p2"]), "photo-photo")[0].size == 2 * 4


def test_threshold_rules_are_conservative() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(0.6, 0.08, 20000)
    emp = float(np.quantile(d, 1e-3))
    t = pop.conservative_distance(d, 1e-3)
    assert t < emp and np.mean(d < t) <= 1e-3
    with pytest.raises(ValueError, match="cannot show"):
        pop.conservative_distance(d[:1000], 1e-3)
    # a look-alike couple of people: the bootstrap over people moves the threshold below most of them
    people = 60
    a = rng.integers(0, people, 20000)
    b = (a + 1 + rng.integers(0, people - 1, 20000)) % people
    d2 = d.copy()
    couple = ((a == 0) & (b == 1)) | ((a == 1) & (b == 0))
    d2[couple] = rng.normal(0.3, 0.02, couple.sum())
    imp = pop.Impostors(d2, a.astype(np.int64), b.astype(np.int64))
    assert pop.bootstrap_distance(imp, 1e-3, rounds=200) < pop.conservative_distance(d2, 1e-3)


def test_fit_conservative_schema_and_held_out() -> None:
    from facematch import artifacts
    from facematch.artifacts.calibration import Calibration

    s = samples()
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(40, 8))
    big = pop.Samples.build(((f"q{p}", f"q{p}/{i}", pop.PHOTO, centres[p] + 0.15 * rng.normal(size=8))
                             for p in range(40) for i in range(5)), 8)
    imp = {"photo-photo": pop.impostor_set(big, "photo-photo")}
    doc = pop.fit_conservative(pop.distances(big, "photo-photo")[0], imp, model="m", data="d", command="c",
                               version="t-v1", targets=(1e-3, 1e-2))
    assert {"version", "model", "data", "date", "command", "targets", "fitted_on", "knots", "rule"} <= set(doc)
    assert doc["fitted_on"]["far_at_75"] <= 1e-3 and doc["fitted_on"]["far_at_65"] <= 1e-2
    import json
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    cal = artifacts.load(Calibration, path=f.name)
    assert cal.percent(doc["knots"][1][0]) == pytest.approx(75.0)
    r = pop.held_out(big, k=5, pair_types=["photo-photo"], rule="pairs", targets=(1e-3, 1e-2))
    # pairs among each held-out fold's 8 people (40 images): 780 - 8 x 10 genuine
    assert r["pooled"]["photo-photo"]["far_at_75"]["n"] == 5 * (40 * 39 // 2 - 8 * 10)
    assert s.select(["p1"]).identities() == ["p1"]


def test_score_summary_counts_rounded_percents() -> None:
    kn = [[0.0, 100.0], [0.4, 75.0], [0.45, 65.0], [0.6, 25.0], [0.7, 5.0], [2.0, 0.0]]
    imp = np.array([0.3, 0.45, 0.5, np.inf] + [0.8] * 996)
    gen = np.array([0.1, 0.2, 0.41])
    r = pop.score_summary(gen, imp, kn)
    assert r["far_above_75"]["k"] == 1 and r["far_at_or_above_65"]["k"] == 2
    assert r["tar_at_far"]["0.0001"] is None and r["tar_at_far"]["0.001"] is not None


def test_tail_rule_provides_for_a_look_alike_couple_the_fitting_people_lack() -> None:
    rng = np.random.default_rng(3)
    people = 40
    a = rng.integers(0, people, 30000)
    b = (a + 1 + rng.integers(0, people - 1, 30000)) % people
    d = rng.normal(0.6, 0.08, 30000)
    imp = pop.Impostors(d, a.astype(np.int64), b.astype(np.int64))
    boot = pop.bootstrap_distance(imp, 1e-3, rounds=200)
    tail = float(pop.bootstrap_distances(imp, [1e-3], rounds=200, tail_model=True)[0])
    # on normal impostors the model agrees with the true 0.1 % quantile (0.353) and is never looser
    assert tail <= boot
    assert abs(tail - (0.6 - 3.09 * 0.08)) < 0.03
    # a couple of look-alikes among the *held-out* people: 0.8 % of their pairs lie at 0.37-0.40,
    # above the normal model's 0.1 % point but below the empirical tail of a heavy-tailed fitting set
    heavy = np.where(rng.random(30000) < 0.004, rng.normal(0.40, 0.01, 30000), d)
    imp_heavy = pop.Impostors(heavy, imp.a, imp.b)
    d75_tail, _ = pop.thresholds({"photo-photo": imp_heavy}, "tail", targets=(1e-3, 1e-2))
    d75_boot, _ = pop.thresholds({"photo-photo": imp_heavy}, "bootstrap", targets=(1e-3, 1e-2))
    assert d75_tail < d75_boot
    assert np.mean(heavy < d75_tail) <= 1e-3


def test_cross_source_margin_covers_a_source_the_others_do_not_predict() -> None:
    """Two sources with the same impostors, a third whose impostors lie closer: the thresholds fitted across
    sources are stricter than the strictest single-source fit by how far the others misjudge the odd one."""
    rng = np.random.default_rng(5)

    def source(centre: float) -> dict[str, pop.Impostors]:
        a = rng.integers(0, 30, 20000)
        b = (a + 1 + rng.integers(0, 29, 20000)) % 30
        return {"photo-photo": pop.Impostors(rng.normal(centre, 0.08, 20000), a.astype(np.int64), b.astype(np.int64))}

    by_source = {"a": source(1.3), "b": source(1.3), "c": source(1.2)}
    targets = (1e-3, 1e-2)
    d75, d65, detail = pop.thresholds_across_sources(by_source, targets=targets)
    strictest = pop.thresholds({f"{n}/p": v["photo-photo"] for n, v in by_source.items()}, targets=targets)
    assert detail["strictest_over_sources"] == pytest.approx(list(strictest))
    assert detail["margin"][0] > 0.05 and d75 == pytest.approx(strictest[0] - detail["margin"][0])
    assert d65 < strictest[1] and set(detail["shortfall_by_held_out_source"]) == {"a", "b", "c"}
    one = pop.thresholds_across_sources({"a": by_source["a"]}, targets=targets)
    assert one[2]["margin"] == [0.0, 0.0] and one[:2] == pytest.approx(pop.thresholds(by_source["a"], targets=targets))
