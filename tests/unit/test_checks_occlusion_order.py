"""How ``occlusions`` lets each occluder's finding shape the others' skin
reference, without ever leaving the mask check with none."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks import Finding
from facematch.checks import occlusion
from facematch.checks.occlusion import ABOVE_MASK, FOREHEAD, GLABELLA, OcclusionLimits


@pytest.mark.parametrize("hat, lenses, reference", [
    (False, False, ABOVE_MASK),
    (True, False, (GLABELLA,)),
    (False, True, (FOREHEAD,)),
    (True, True, (GLABELLA,)),  # both covered: the glabella, which a bridge only crosses
])
def test_the_mask_is_always_judged(monkeypatch, hat, lenses, reference):
    seen = []
    monkeypatch.setattr(occlusion, "hat", lambda *a: [Finding(8, "hat", "img2")] if hat else [])
    monkeypatch.setattr(occlusion, "sunglasses",
                        lambda *a: [Finding(7, "sunglasses", "img2")] if lenses else [])
    monkeypatch.setattr(occlusion, "mask", lambda view, points, image, limits, ref: seen.append(ref) or [])
    found = occlusion.occlusions(None, np.zeros((468, 3)), (100, 100, 3), "img2", OcclusionLimits())
    assert seen == [reference]
    assert {f.code for f in found} == ({8} if hat else set()) | ({7} if lenses else set())


def test_lenses_are_judged_again_above_a_mask(monkeypatch):
    calls = []
    monkeypatch.setattr(occlusion, "hat", lambda *a: [])
    monkeypatch.setattr(occlusion, "sunglasses",
                        lambda view, image, limits, ref=occlusion.BESIDE_LENSES:
                        calls.append(ref) or ([Finding(7, "sunglasses", image)] if len(calls) == 1 else []))
    monkeypatch.setattr(occlusion, "mask", lambda *a: [Finding(9, "mask", "img2")])
    found = occlusion.occlusions(None, np.zeros((468, 3)), (100, 100, 3), "img2", OcclusionLimits())
    assert calls == [occlusion.BESIDE_LENSES, (FOREHEAD,)]
    assert [f.code for f in found] == [9]
