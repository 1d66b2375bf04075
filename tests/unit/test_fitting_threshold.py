"""``tools.fitting.threshold``: the score a fitted model's threshold is read at, per training source."""

from __future__ import annotations

import numpy as np

from tools.fitting import threshold


def test_the_rate_allows_that_share_of_the_faces_above():
    scores = np.arange(1000, dtype=float)  # 0 .. 999
    t = threshold(scores, 0.005)
    assert t == 994.0 and int((scores > t).sum()) == 5


def test_a_small_source_lets_its_highest_face_decide_unless_one_is_allowed():
    scores = np.array([7.65, 2.5, 1.0, -3.0] + [-5.0] * 190)  # 194 faces: 0.5 % of them is under one face
    assert threshold(scores, 0.005) == 7.65  # nothing above: the single highest face sets it
    t = threshold(scores, 0.005, at_least=1)
    assert t == 2.5 and int((scores > t).sum()) == 1
    assert threshold(np.arange(1000, dtype=float), 0.005, at_least=1) == 994.0  # a large source: the rate rules


def test_a_budget_over_every_face_gives_no_threshold():
    assert threshold(np.array([1.0, 2.0]), 0.5, at_least=2) == -np.inf
