"""The presentation-attack limit picked on a deployment's own genuine captures (``facematch pad-limit``)."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.fit.pad_limit import Scores, fit_limit, flagged, limit_for, min_faces


def test_the_limit_flags_at_most_the_share_asked():
    scores = np.arange(1, 101, dtype=float)  # 1..100
    assert limit_for(scores, 0.05) == 95.0 and flagged(scores, 95.0) == 5
    assert limit_for(scores[::-1], 0.10) == 90.0  # order does not matter
    rng = np.random.default_rng(0)
    for n in (20, 57, 333):
        s = rng.random(n)
        for share in (0.01, 0.05, 0.1, 0.3):
            lim = limit_for(s, share)
            assert flagged(s, lim) <= share * n  # never more than asked
            assert flagged(s, float(np.nextafter(lim, -1.0))) > share * n  # and no lower limit would do


def test_ties_are_never_flagged_beyond_the_share():
    s = np.array([0.5] * 30 + [0.9] * 2)
    lim = limit_for(s, 0.1)  # 3 of 32 allowed: the two 0.9s and no tie of 0.5
    assert lim == 0.5 and flagged(s, lim) == 2


def test_enough_genuine_faces_are_required():
    assert min_faces(0.05) == 100 and min_faces(0.1) == 50 and min_faces(0.5) == 10
    with pytest.raises(ValueError, match="needs at least 100"):
        fit_limit(Scores(images=99, scores=[0.1] * 99), 0.05, 0.92)
    with pytest.raises(ValueError):
        limit_for(np.ones(10), 0.0)


def test_the_summary_holds_rates_not_scores():
    rng = np.random.default_rng(1)
    genuine = Scores(images=110, no_face=4, too_small=6, scores=list(rng.random(100) * 0.5))
    attacks = Scores(images=40, scores=list(0.4 + rng.random(40) * 0.6))
    doc = fit_limit(genuine, 0.05, 0.92, attacks, command="facematch pad-limit x", model="recapture-v1")
    lim = doc["limit"]
    assert doc["genuine"]["judged"] == 100 and doc["genuine"]["flagged_at_limit"] <= 5
    assert doc["genuine"]["flagged_at_current_limit"] == 0  # every genuine score is below 0.5
    assert doc["attacks"]["missed_at_limit"] == sum(s <= lim for s in attacks.scores)
    assert doc["attacks"]["missed_at_current_limit"] == sum(s <= 0.92 for s in attacks.scores)
    assert str(lim)[:6] in doc["setting"] and "fraud.max_attack_score" in doc["setting"]
    assert len(doc["genuine"]["bpcer_other_half"]) == 2
    flat = repr(doc)
    # No per-image score is written (the limit is one of them, by construction).
    assert all(f"{s:.6f}" not in flat for s in genuine.scores if round(s, 6) != lim)
