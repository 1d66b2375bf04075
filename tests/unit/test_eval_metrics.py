from __future__ import annotations

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts.calibration import Calibration
from facematch.eval import metrics
from facematch.fit import calibrate


def test_roc_tar_far_eer_on_known_scores():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, -np.inf])
    r = metrics.roc(scores, labels)
    assert metrics.tar_at_far(r, 0.0) == 0.75   # three genuine above the best impostor
    assert metrics.tar_at_far(r, 0.25) == 0.75
    assert metrics.tar_at_far(r, 0.5) == 1.0
    assert metrics.eer(r) == pytest.approx(0.25)


def test_failure_to_acquire_counts_as_rejection():
    labels = np.array([1, 1, 0, 0], dtype=bool)
    scores = np.array([0.9, -np.inf, 0.1, 0.2])
    s = metrics.summary(scores, labels, None, failures=1, images=4)
    assert s["failure_to_acquire"] == 0.25
    assert s["tar_at_far_1e-2"] == 0.5
    assert "tar_at_far_1e-4" not in s  # fewer than 10,000 impostor pairs


def test_ten_fold_accuracy_picks_threshold_on_other_folds():
    rng = np.random.default_rng(0)
    labels = np.tile([True, False], 500)
    scores = np.where(labels, rng.normal(1, 0.3, 1000), rng.normal(-1, 0.3, 1000))
    folds = np.repeat(np.arange(10), 100)
    acc, std = metrics.accuracy_10fold(scores, labels, folds)
    assert acc > 0.99 and std < 0.02


def test_calibration_fit_hits_the_far_targets(tmp_path):
    rng = np.random.default_rng(1)
    genuine = rng.normal(0.35, 0.08, 5000)
    impostor = rng.normal(0.85, 0.08, 100_000)
    doc = calibrate.fit(genuine, impostor, model="m", data="d", command="c", version="test-1")
    path = tmp_path / "test-1.json"
    import json

    path.write_text(json.dumps(doc))
    cal = artifacts.load(Calibration, path=path)
    pct = np.array([cal.percent(d) for d in impostor])
    assert np.mean(pct > 75) <= calibrate.FAR_AT_MATCH and np.mean(pct > 75) > calibrate.FAR_AT_MATCH / 2
    assert np.mean(pct >= 65) <= 1e-2 and np.mean(pct >= 65) > 5e-3
    assert doc["fitted_on"]["gar_at_75"] > 0.9
