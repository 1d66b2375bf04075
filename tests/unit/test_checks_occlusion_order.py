"""How ``occlusions`` lets each occluder's finding shape the others' skin
reference, without ever leaving the mask check with none."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks import Finding, occlusion
from facematch.checks.occlusion import ABOVE_MASK, EYE_A, EYE_B, FOREHEAD, GLABELLA, OcclusionLimits
from facematch.types import InvalidCode


def mesh_points(eyes: float = 60.0) -> np.ndarray:
    """Face-mesh points whose eye centres lie ``eyes`` pixels apart."""
    points = np.zeros((468, 3))
    points[list(EYE_A), 0] = 100.0
    points[list(EYE_B), 0] = 100.0 + eyes
    return points


@pytest.mark.parametrize("hat, lenses, references", [
    (False, False, [ABOVE_MASK]),
    (True, False, [(GLABELLA,)]),
    (False, True, [(FOREHEAD,)]),
    (True, True, [(GLABELLA,), (FOREHEAD,)]),  # both covered: each patch read alone
])
def test_the_mask_is_always_judged(monkeypatch, hat, lenses, references):
    seen = []
    monkeypatch.setattr(occlusion, "hat", lambda *a: [Finding(InvalidCode.HAT, "hat", "img2")] if hat else [])
    monkeypatch.setattr(occlusion, "sunglasses",
                        lambda *a: [Finding(InvalidCode.SUNGLASSES, "sunglasses", "img2")] if lenses else [])
    monkeypatch.setattr(occlusion, "mask", lambda view, points, image, limits, ref: seen.append(ref) or [])
    found = occlusion.occlusions(None, mesh_points(), (100, 100, 3), "img2", OcclusionLimits())
    assert seen == references
    expected = ({InvalidCode.HAT} if hat else set()) | ({InvalidCode.SUNGLASSES} if lenses else set())
    assert {f.code for f in found} == expected


def test_lenses_are_judged_again_above_a_mask(monkeypatch):
    calls = []
    monkeypatch.setattr(occlusion, "hat", lambda *a: [])
    monkeypatch.setattr(occlusion, "sunglasses",
                        lambda view, image, limits, ref=occlusion.BESIDE_LENSES:
                        calls.append(ref)
                        or ([Finding(InvalidCode.SUNGLASSES, "sunglasses", image)] if len(calls) == 1 else []))
    monkeypatch.setattr(occlusion, "mask", lambda *a: [Finding(InvalidCode.MASK, "mask", "img2")])
    found = occlusion.occlusions(None, mesh_points(), (100, 100, 3), "img2", OcclusionLimits())
    assert calls == [occlusion.BESIDE_LENSES, (FOREHEAD,)]
    assert [f.code for f in found] == [InvalidCode.MASK]


@pytest.mark.parametrize("under_glabella, under_forehead, found", [
    (True, True, True), (True, False, False), (False, True, False)])
def test_with_a_hat_and_lenses_a_mask_must_hold_against_both_patches(monkeypatch, under_glabella, under_forehead,
                                                                      found):
    """A headband (the forehead bare) with a wide bridge (the glabella covered): the lower face unlike the glabella
    alone is no mask; and a mask is still found under a cap and sunglasses when both patches say so."""
    monkeypatch.setattr(occlusion, "hat", lambda *a: [Finding(InvalidCode.HAT, "hat", "img2")])
    monkeypatch.setattr(occlusion, "sunglasses", lambda *a: [Finding(InvalidCode.SUNGLASSES, "sunglasses", "img2")])
    unlike = {(GLABELLA,): under_glabella, (FOREHEAD,): under_forehead}
    monkeypatch.setattr(occlusion, "mask", lambda view, points, image, limits, ref:
                        [Finding(InvalidCode.MASK, "mask", image)] if unlike[ref] else [])
    codes = {f.code for f in occlusion.occlusions(None, mesh_points(), (100, 100, 3), "img2", OcclusionLimits())}
    assert (InvalidCode.MASK in codes) is found
    assert {InvalidCode.HAT, InvalidCode.SUNGLASSES} <= codes


def test_with_two_readings_the_mask_model_takes_the_lower_score(monkeypatch):
    monkeypatch.setattr(occlusion, "hat", lambda *a: [Finding(InvalidCode.HAT, "hat", "img2")])
    monkeypatch.setattr(occlusion, "sunglasses", lambda *a: [Finding(InvalidCode.SUNGLASSES, "sunglasses", "img2")])
    monkeypatch.setattr(occlusion, "mask", lambda view, points, image, limits, ref:
                        [Finding(InvalidCode.MASK, "mask", image)])
    score = {(GLABELLA,): 2.8, (FOREHEAD,): -0.5}
    monkeypatch.setattr(occlusion, "model_scores", lambda *a, reference: {"mask": score[reference]})
    found = occlusion.occlusions(None, mesh_points(), (100, 100, 3), "img2", OcclusionLimits(), np.zeros(128), "x")
    assert InvalidCode.MASK not in {f.code for f in found}
    score[(FOREHEAD,)] = 1.5
    found = occlusion.occlusions(None, mesh_points(), (100, 100, 3), "img2", OcclusionLimits(), np.zeros(128), "x")
    assert [f.value for f in found if f.code == InvalidCode.MASK] == [1.5]


def test_mesh_eye_distance():
    assert occlusion.eye_distance(mesh_points(37.5)) == pytest.approx(37.5)


@pytest.mark.parametrize("eyes", [4.0, 9.0, 12.0, 15.0, 20.0, 30.0, 60.0])
def test_each_check_has_its_own_size_limit(monkeypatch, eyes):
    ran = []
    monkeypatch.setattr(occlusion, "hat", lambda *a: ran.append("hat") or [Finding(InvalidCode.HAT, "hat", "img2")])
    monkeypatch.setattr(occlusion, "sunglasses", lambda *a: ran.append("sunglasses") or [])
    monkeypatch.setattr(occlusion, "mask", lambda *a: ran.append("mask") or [])
    limits = OcclusionLimits()
    found = occlusion.occlusions(None, mesh_points(eyes), (100, 100, 3), "img2", limits)
    expected = [name for name in ("hat", "sunglasses", "mask") if eyes >= getattr(limits, f"{name}_min_eye_distance")]
    assert ran == expected
    assert [f.code for f in found] == ([InvalidCode.HAT] if "hat" in expected else [])


def test_size_limits_are_independent_of_the_matching_limit():
    from facematch.checks.geometry import GeometryLimits

    limits = OcclusionLimits()
    for name in ("mask", "sunglasses", "hat"):
        value = getattr(limits, f"{name}_min_eye_distance")
        assert 0 < value < GeometryLimits().min_eye_distance_portrait  # they run on faces too small to match


def test_a_size_limit_of_zero_runs_the_check_on_any_face(monkeypatch):
    from dataclasses import replace

    ran = []
    for name in ("hat", "sunglasses", "mask"):
        monkeypatch.setattr(occlusion, name, lambda *a, name=name: ran.append(name) or [])
    limits = replace(OcclusionLimits(), mask_min_eye_distance=0.0, sunglasses_min_eye_distance=0.0,
                     hat_min_eye_distance=0.0)
    occlusion.occlusions(None, mesh_points(1.0), (100, 100, 3), "img2", limits)
    assert ran == ["hat", "sunglasses", "mask"]
