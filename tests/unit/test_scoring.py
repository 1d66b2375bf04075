from __future__ import annotations

import json

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts.calibration import Calibration
from facematch.scoring import DEFAULT_CALIBRATION, decision


def test_packaged_calibration_loads_and_is_monotone():
    cal = artifacts.load(Calibration, version=DEFAULT_CALIBRATION)
    assert cal.version and cal.provenance["model"] and cal.provenance["command"]
    d = np.linspace(0, 1.5, 301)
    p = [cal.percent(x) for x in d]
    assert all(a >= b for a, b in zip(p[:-1], p[1:], strict=True))
    assert p[0] == 100.0 and p[-1] >= 0.0
    assert cal.percent(cal.distance_at(75.0)) == pytest.approx(75.0, abs=1e-6)


@pytest.mark.parametrize("m, expected", [(100, 1), (75.01, 1), (75.0, 0), (74.999, 0), (65.0, 0), (64.994, -1),
                                         (64.996, 0), (0, -1)])
def test_decision_thresholds(m, expected):
    assert decision(m) == expected


def test_non_monotone_calibration_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": "x", "model": "m", "command": "c",
                                "knots": [[0, 100], [0.5, 80], [0.4, 90]]}))
    with pytest.raises(ValueError):
        artifacts.load(Calibration, path=path)
