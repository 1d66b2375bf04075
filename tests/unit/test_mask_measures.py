"""``occlusion.mask_measures``: what tells a mask from a beard, teeth or a
shadow, on generated face views (a flat skin colour, with fabric or stubble
painted over the lower face)."""

from __future__ import annotations

import numpy as np

from facematch.checks.occlusion import (
    CANONICAL,
    EYE_A,
    EYE_B,
    FOREHEAD,
    MASK_MEASURES,
    MOUTH,
    FaceView,
    OcclusionLimits,
    mask_measures,
    to_view,
)

SCALE = 40
SKIN = (205, 160, 135)


def view_of(rgb: np.ndarray) -> FaceView:
    """The image read as a face view as it is (mesh points at the canonical eyes and mouth)."""
    points = np.zeros((468, 3), np.float32)
    eyes_mouth = to_view(CANONICAL, SCALE)
    points[list(EYE_A), :2] = eyes_mouth[0]
    points[list(EYE_B), :2] = eyes_mouth[1]
    points[list(MOUTH), :2] = eyes_mouth[2]
    return FaceView.from_points(rgb, points, SCALE)


def face(lower: tuple[int, int, int] | None = None, stubble: float = 0.0) -> np.ndarray:
    """A flat skin-coloured view; below 0.3 face units (the nose) ``lower`` (fabric) or skin with
    ``stubble`` (grey-level noise of that spread)."""
    rgb = np.zeros((160, 104, 3), np.float32)
    rgb[:] = SKIN
    top = round(to_view(np.array([[0.0, 0.3]]), SCALE)[0, 1])
    if lower is not None:
        rgb[top:] = lower
    noise = np.random.default_rng(0).normal(0, stubble, rgb[top:, :, :1].shape)
    rgb[top:] = rgb[top:] * (1 - stubble / 100) + noise
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def measures(rgb: np.ndarray) -> dict[str, float]:
    """``MASK_MEASURES`` of the view, the skin taken from the forehead."""
    view = view_of(rgb)
    found = mask_measures(view, view.skin((FOREHEAD,)), OcclusionLimits())
    return dict(zip(MASK_MEASURES, found.tolist(), strict=True))


def test_bare_skin_is_close_to_the_skin_and_covers_the_cheeks():
    m = measures(face())
    assert m["lower_face_contrast"] < 0.1 and m["cheek_skin"] == 1.0 and m["lower_face_texture"] < 0.05


def test_a_white_mask_differs_in_lightness_and_covers_the_cheeks():
    m = measures(face((236, 238, 240)))
    assert m["lower_face_contrast"] > 2.0 and m["cheek_skin"] == 0.0 and m["lower_face_texture"] < 0.05


def test_a_black_mask_differs_in_lightness():
    assert measures(face((34, 34, 38)))["lower_face_contrast"] > 3.0


def test_stubble_is_rougher_than_fabric():
    assert measures(face(stubble=30.0))["lower_face_texture"] > 10 * measures(face((236, 238, 240)))[
        "lower_face_texture"]
