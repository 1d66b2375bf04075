"""Sunglasses, mask and hat through the real pipeline on the astronaut
(scikit-image, public domain) with synthetic occluders drawn over her face
using the face mesh."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facematch.checks.occlusion import EYE_A, EYE_B, FaceView, OcclusionLimits, eye_contrasts, lenses
from tests.support.images import analyze
from tools.synth import occluders

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


def codes(matcher, rgb: np.ndarray) -> set[int]:
    result = analyze(matcher, rgb, "img2", "portrait")
    assert result.face is not None
    return {f.code for f in result.findings}


def test_clean_face_has_no_occlusion(matcher, bundle, portrait):
    assert not codes(matcher, portrait) & OCCLUSION_CODES


def test_clear_glasses_are_not_sunglasses(matcher, bundle, portrait, mesh):
    assert 7 not in codes(matcher, occluders.draw_clear_glasses(portrait, mesh, 0))


@pytest.mark.parametrize("tint", [(38, 38, 42), (70, 46, 28)])
def test_dark_lenses_are_sunglasses(matcher, bundle, portrait, mesh, tint):
    assert codes(matcher, occluders.draw_sunglasses(portrait, mesh, 1, tint=tint)) & OCCLUSION_CODES == {7}


@pytest.mark.parametrize("colour", [(236, 238, 240), (150, 192, 222), (34, 34, 38)])
def test_masks_are_found(matcher, bundle, portrait, mesh, colour):
    assert codes(matcher, occluders.draw_mask(portrait, mesh, 2, colour=colour)) & OCCLUSION_CODES == {9}


@pytest.mark.parametrize("colour", [(180, 30, 36), (30, 40, 80)])
def test_caps_are_hats(matcher, bundle, portrait, mesh, colour):
    """Red and navy caps drawn along the mesh (the hat model was
    fitted on real photos only: none of these drawings)."""
    assert codes(matcher, occluders.draw_cap(portrait, mesh, 3, colour=colour)) & OCCLUSION_CODES == {8}


@pytest.mark.parametrize("colour", [(180, 30, 36), (30, 40, 80), (236, 236, 232)])
def test_caps_are_hats_to_the_image_model(matcher, bundle, portrait, mesh, colour):
    """Red, navy and white drawn caps, judged by the image model alone (another network, or the
    embedding models off). With the SFace embedding, hat v3 misses the white one on this canvas
    (log-odds -0.87 over its threshold, the image model alone +0.40): the embedding's part
    scores the astronaut's face as hatless whatever is drawn above it (docs/checks.md, code 8). With SFace's
    activations at the top of its chip added (``hattop-v1``, as the matcher runs it) the white one is found:
    tests/models/test_hat_top.py."""
    from facematch.checks.occlusion import hat

    rgb = occluders.draw_cap(portrait, mesh, 3, colour=colour)
    face = analyze(matcher, rgb, "img2", "portrait").face
    assert face is not None
    view = _view(bundle, rgb)
    found = hat(view, rgb.shape, "img2", OcclusionLimits(embedding_models=False), face.embedding, "sface-2021dec")
    assert [f.code for f in found] == [8]
    assert hat(view, rgb.shape, "img2", OcclusionLimits(), face.embedding, "dlib-resnet-v1") == found


def test_a_cap_raises_the_hat_score(bundle, portrait, mesh):
    """The model's score (log-odds over its threshold) is below 0 on the bare
    head and above it under a cap."""
    from facematch.checks.occlusion import hat_features, hat_model

    bare = hat_model().score(hat_features(_view(bundle, portrait)))
    capped = hat_model().score(hat_features(_view(bundle, occluders.draw_cap(portrait, mesh, 3))))
    assert bare < 0 < capped


@pytest.mark.parametrize("capped", [False, True])
def test_a_face_and_its_mirror_image_get_one_hat_score(bundle, portrait, mesh, capped):
    """A head covering is one in a mirror, and front cameras and web pages send selfies mirrored: the score
    is the same for the face view and its mirror image (the model fitted on photos as they are was not
    symmetric: docs/checks.md, code 8)."""
    from facematch.checks.occlusion import hat

    rgb = occluders.draw_cap(portrait, mesh, 3) if capped else portrait
    view = _view(bundle, rgb)
    every = OcclusionLimits(hat_min_score=-100.0, embedding_models=False)  # every face reports its score
    [as_is] = hat(view, rgb.shape, "img2", every)
    [mirrored] = hat(view.mirrored(), rgb.shape, "img2", every)
    assert mirrored.value == pytest.approx(as_is.value, abs=1e-9)
    assert (as_is.value > 0) == capped
    assert np.array_equal(view.mirrored().mirrored().rgb, view.rgb)


def _view(bundle, rgb: np.ndarray) -> FaceView:
    return FaceView.from_points(rgb, bundle.detector.detect(rgb)[0].mesh.points)


def test_bare_eyes_are_seen_at_full_contrast(bundle, portrait):
    assert min(eye_contrasts(_view(bundle, portrait))) > 0.5


@pytest.mark.parametrize("transmission", [0.05, 0.15])
def test_eyes_behind_dark_lenses_lose_their_contrast(bundle, portrait, mesh, transmission):
    """Common sunglasses pass 8-18 % of the light: the eye's pattern may
    still be found, but at about that fraction of its contrast."""
    dark = occluders._glasses(portrait, mesh, np.random.default_rng(4), transmission, (38, 38, 42))
    assert max(eye_contrasts(_view(bundle, dark))) < 0.35


@pytest.mark.parametrize("embedding_models", [
    pytest.param(True, marks=pytest.mark.xfail(strict=True, reason=(
        "known false alarm of the sunglasses model (sunglasses-v1, SFace's activations around the eyes): "
        "eye sockets darkened to 30 % score +0.29 over its threshold (to 50 %: -2.36); docs/checks.md, "
        "section 7"))),
    False])
def test_shadowed_eyes_are_not_sunglasses(matcher, bundle, portrait, mesh, embedding_models):
    """Eye sockets in deep shadow (top light, a cap's brim): the skin around
    the eyes darkened to 30 %, softly, with its hue. The windows read as
    covered and dark, but the eyes show at their contrast: the lens rule
    gives no warning; the sunglasses model (the default with SFace) does."""
    from facematch.checks.suite import CheckLimits
    a, b = (mesh[list(eye), :2].mean(0) for eye in (EYE_A, EYE_B))
    d = float(np.linalg.norm(b - a))
    shadow = np.zeros(portrait.shape[:2], np.float32)
    for x, y in (a, b):
        cv2.ellipse(shadow, (int(x), int(y + 0.05 * d)), (int(0.42 * d), int(0.32 * d)), 0, 0, 360, 1.0, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.12 * d)
    shaded = np.clip(portrait * (1 - 0.7 * shadow[:, :, None]), 0, 255).astype(np.uint8)
    view = _view(bundle, shaded)
    assert min(lenses(view, OcclusionLimits()).coverage) > OcclusionLimits().lens_min_coverage
    assert min(eye_contrasts(view)) > 0.35
    default, matcher.checks = matcher.checks, CheckLimits(occlusion=OcclusionLimits(embedding_models=embedding_models))
    try:
        assert 7 not in codes(matcher, shaded)
    finally:
        matcher.checks = default


def _shrunk(rgb: np.ndarray, mesh: np.ndarray, eyes: float) -> np.ndarray:
    """``rgb`` shrunk as a whole so that the eye centres lie ``eyes`` pixels apart."""
    a, b = (mesh[list(eye), :2].mean(0) for eye in (EYE_A, EYE_B))
    f = eyes / float(np.linalg.norm(b - a))
    return cv2.resize(rgb, (round(rgb.shape[1] * f), round(rgb.shape[0] * f)), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("draw, code", [(lambda p, m: occluders.draw_mask(p, m, 2, colour=(150, 192, 222)), 9),
                                        (lambda p, m: occluders.draw_sunglasses(p, m, 1, tint=(38, 38, 42)), 7)])
def test_occlusions_are_reported_on_faces_too_small_to_match(matcher, portrait, mesh, draw, code):
    """A face below the matching limit (11) still gets its occlusion
    warning, and both findings are reported; the severity policy picks 9 or 7."""
    from facematch.checks import policy

    limits = OcclusionLimits()
    eyes = 26.0
    assert eyes >= max(limits.mask_min_eye_distance, limits.sunglasses_min_eye_distance)
    result = analyze(matcher, _shrunk(draw(portrait, mesh), mesh, eyes), "img2", "portrait")
    found = {f.code for f in result.findings}
    assert {code, 11} <= found and policy.pick(result.findings) == code


def _cut_above_eyes(rgb: np.ndarray, mesh: np.ndarray, eye_distances: float) -> np.ndarray:
    """The image cut across ``eye_distances`` (the mesh's eye centres) above the eye line: a close-up."""
    a, b = mesh[list(EYE_A), :2].mean(0), mesh[list(EYE_B), :2].mean(0)
    top = int((a[1] + b[1]) / 2 - eye_distances * float(np.hypot(*(a - b))))
    return np.ascontiguousarray(rgb[top:])


@pytest.mark.parametrize("above", [1.3, 1.15, 1.0])
def test_a_close_up_that_cuts_the_head_is_not_a_hat(matcher, bundle, portrait, mesh, above):
    """The top of the head cut off by the frame: the view above it is the border replicated, which the
    stricter limits for cut heads (``hat_limit``) do not take for a cap."""
    assert 8 not in codes(matcher, _cut_above_eyes(portrait, mesh, above))


def test_a_head_cut_by_the_frame_is_judged_with_the_limit_of_its_band(bundle, portrait, mesh):
    """More than half of ``HEAD_TOP`` outside the image: judged (it was not, before), against the limit of
    how much is cut; limits moved out of the way here so that the finding shows which one applied."""
    from dataclasses import replace

    from facematch.checks.occlusion import HEAD_TOP, hat, hat_limit

    rgb = _cut_above_eyes(occluders.draw_cap(portrait, mesh, 3, colour=(180, 30, 36)), mesh, 1.0)
    points = bundle.detector.detect(rgb)[0].mesh.points
    limits = replace(OcclusionLimits(), hat_cut_min_score_70=-50.0, hat_cut_min_score_90=-60.0,
                     hat_cut_min_score_100=-70.0)
    view = FaceView.from_points(rgb, points, limits.view_scale)
    outside = view.outside(HEAD_TOP, rgb.shape)
    assert outside > limits.hat_max_outside
    assert [f.limit for f in hat(view, rgb.shape, "img2", limits)] == [hat_limit(outside, limits)]
    assert hat_limit(outside, limits) in (-50.0, -60.0, -70.0)


def test_the_astronaut_faces_the_camera_and_her_mirror_image_turns_the_other_way(bundle, portrait, mesh):
    """``head_yaw`` from the face mesh's depth: the astronaut looks at the camera (under ``hat_max_yaw``),
    and mirroring the photo turns her head by as much the other way."""
    from facematch.checks.occlusion import head_yaw

    yaw = head_yaw(mesh)
    mirrored = head_yaw(bundle.detector.detect(np.ascontiguousarray(portrait[:, ::-1]))[0].mesh.points)
    assert abs(yaw) < OcclusionLimits().hat_max_yaw
    assert abs(yaw + mirrored) < 3.0


@pytest.mark.parametrize("turn", [-45.0, 45.0])
def test_a_turned_head_is_judged_against_the_limit_for_turned_heads(portrait, mesh, turn):
    """``occlusions`` reads the head's yaw from the mesh (here only the depth of the outline beside the eyes
    is changed, so the face view stays the same) and a head turned more than ``hat_max_yaw`` either way asks
    ``hat_turned_min_score``; limits moved out of the way so that the finding shows which one applied."""
    from dataclasses import replace

    from facematch.checks.occlusion import CHEEK_EDGES, head_yaw, occlusions

    limits = replace(OcclusionLimits(), hat_min_score=-50.0, hat_turned_min_score=-40.0)
    view = FaceView.from_points(portrait, mesh, limits.view_scale)
    turned = mesh.copy()
    a, b = CHEEK_EDGES
    width = float(np.hypot(*(mesh[b, :2] - mesh[a, :2])))
    turned[b, 2] = turned[a, 2] + width * np.tan(np.radians(turn))
    assert head_yaw(turned) == pytest.approx(turn, abs=0.01)
    for points, limit in ((mesh, -50.0), (turned, -40.0)):
        hats = [f for f in occlusions(view, points, portrait.shape, "img2", limits) if f.code == 8]
        assert [f.limit for f in hats] == [limit]
