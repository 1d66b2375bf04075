"""``facematch checks``' counting (``eval.findings``), on judged images made up here."""

from __future__ import annotations

import pytest

from facematch.eval.findings import Judged, expected, report, summarise, wilson
from facematch.types import ImageKind


def test_wilson_interval():
    lo, hi = wilson(0, 117)
    assert lo == 0.0 and hi == pytest.approx(0.0318, abs=1e-4)  # 0 of 117: at most 3.2 %, not 0 %
    lo, hi = wilson(10, 117)
    assert lo < 10 / 117 < hi
    assert wilson(0, 0) == (0.0, 1.0)


def test_summary_counts_over_faces_found():
    items = [Judged("a", True, True, (), 0),
             Judged("b", True, True, (2, 10), 2, (("photocopy", 2, 3.0, 5.0), ("recapture", 10, 9.0, 6.0))),
             Judged("c", True, True, (10,), 10, (("recapture", 10, 7.0, 6.0),)),
             Judged("d", True, False, (1,), 4), Judged("e", False, False, (), -1)]
    doc = summarise(items, ImageKind.CARD)
    assert (doc["images"], doc["unreadable"], doc["no_face"], doc["faces_found"]) == (5, 1, 1, 3)
    assert doc["codes"]["10"]["raised"]["count"] == 2 and doc["codes"]["10"]["shown"]["count"] == 1
    assert doc["codes"]["1"]["raised"]["count"] == 0  # found on the image without a face: errorCode 3 anyway
    assert doc["any_fraud_code"]["count"] == 2 and doc["any_warning"]["of"] == 3
    assert doc["invalid_code"] == {"0": 1, "2": 1, "4": 1, "10": 1}
    assert list(doc["codes"])[:4] == ["1", "2", "3", "6"]
    assert doc["checks"] == {"photocopy": {"code": 2, "images": 1, "limit": 5.0, "values": [3.0, 3.0, 3.0]},
                             "recapture": {"code": 10, "images": 2, "limit": 6.0, "values": [7.0, 9.0, 9.0]}}
    text = report(doc)
    assert "| 10 | 2/3 (66.7 %" in text and "false alarms" in text and "| recapture | 10 | 2 | 6.0 | 7, 9, 9 |" in text


def test_portrait_summary_and_expect():
    items = [Judged("a", True, True, (9, 11), 9), Judged("b", True, True, (), 0)]
    doc = summarise(items, ImageKind.PORTRAIT, "9")
    assert "any_fraud_code" not in doc and doc["codes"]["9"]["raised"]["rate"] == 0.5
    assert "| 9 (expected) | 1/2" in report(doc)
    assert expected("genuine") == "genuine" and expected("09") == "9"
    for bad in ("0", "13", "mask", ""):
        with pytest.raises(ValueError):
            expected(bad)
