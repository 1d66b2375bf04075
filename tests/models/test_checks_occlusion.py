"""Sunglasses, mask and hat through the real pipeline on the astronaut
(scikit-image, public domain) with synthetic occluders drawn over her face
using the face mesh."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks.occlusion import FaceView, OcclusionLimits, eyes_seen
from facematch.pipeline import PORTRAIT, analyze
from facematch.synth import occluders

pytestmark = pytest.mark.models

OCCLUSION_CODES = {7, 8, 9}


@pytest.fixture(scope="module")
def portrait(astronaut) -> np.ndarray:
    """The astronaut with room above her head for a hat to be seen."""
    canvas = np.full((640, 512, 3), (205, 205, 200), np.uint8)
    canvas[128:, :] = astronaut
    return canvas


@pytest.fixture(scope="module")
def mesh(bundle, portrait) -> np.ndarray:
    return bundle.detector.detect(portrait)[0].mesh.points


def codes(bundle, rgb: np.ndarray) -> set[int]:
    result = analyze(bundle, rgb, "img2", PORTRAIT)
    assert result.face is not None
    return {f.code for f in result.findings}


def test_clean_face_has_no_occlusion(bundle, portrait):
    assert not codes(bundle, portrait) & OCCLUSION_CODES


def test_clear_glasses_are_not_sunglasses(bundle, portrait, mesh):
    assert 7 not in codes(bundle, occluders.draw_clear_glasses(portrait, mesh, 0))


@pytest.mark.parametrize("tint", [(38, 38, 42), (70, 46, 28)])
def test_dark_lenses_are_sunglasses(bundle, portrait, mesh, tint):
    assert codes(bundle, occluders.draw_sunglasses(portrait, mesh, 1, tint=tint)) & OCCLUSION_CODES == {7}


@pytest.mark.parametrize("colour", [(236, 238, 240), (150, 192, 222), (34, 34, 38)])
def test_masks_are_found(bundle, portrait, mesh, colour):
    assert codes(bundle, occluders.draw_mask(portrait, mesh, 2, colour=colour)) & OCCLUSION_CODES == {9}


def test_a_bright_cap_is_a_hat(bundle, portrait, mesh):
    assert codes(bundle, occluders.draw_cap(portrait, mesh, 3, colour=(180, 30, 36))) & OCCLUSION_CODES == {8}


def _view(bundle, rgb: np.ndarray) -> FaceView:
    return FaceView.from_points(rgb, bundle.detector.detect(rgb)[0].mesh.points)


def test_bare_eyes_are_seen(bundle, portrait):
    assert eyes_seen(_view(bundle, portrait), OcclusionLimits().lens_eye_min_contrast) == (True, True)


@pytest.mark.parametrize("transmission", [0.05, 0.15])
def test_eyes_behind_dark_lenses_are_not_seen(bundle, portrait, mesh, transmission):
    """Common sunglasses pass 8-18 % of the light: the eye's pattern is
    still there, but at that fraction of its contrast, under the limit."""
    rng = np.random.default_rng(4)
    dark = occluders._glasses(portrait, mesh, rng, transmission, (38, 38, 42))
    assert not all(eyes_seen(_view(bundle, dark), OcclusionLimits().lens_eye_min_contrast))


def test_shadowed_eyes_are_not_sunglasses(bundle, portrait, mesh):
    """Eye sockets darkened to 40 % (top light, a cap's brim) keep the hue of
    skin and most of the eyes' contrast: dark enough for the lens rule,
    but the eyes show, so no warning."""
    shade = occluders._glasses(portrait, mesh, np.random.default_rng(5), 0.4, (0, 0, 0))
    view = _view(bundle, shade)
    assert all(eyes_seen(view, OcclusionLimits().lens_eye_min_contrast))
    assert 7 not in codes(bundle, shade)
