"""Face too small (11) and too close to the margin (12) through the real
pipeline, on the astronaut (public domain) scaled and placed at known sizes
and positions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facematch.checks.geometry import GeometryLimits, eye_distance
from facematch.scoring import decision
from tests.support.images import analyze

CARD, PORTRAIT = "card", "portrait"

pytestmark = pytest.mark.models

LIM = GeometryLimits()


@pytest.fixture(scope="module")
def head(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut[20:260, 110:350])  # head and shoulders, 240 x 240


@pytest.fixture(scope="module")
def native_eyes(matcher, head) -> float:
    """Eye distance of the head at scale 1, as the pipeline measures it."""
    return eye_distance(analyze(matcher, head, "img2", PORTRAIT).face.landmarks)


def placed(head: np.ndarray, scale: float, canvas: tuple[int, int] = (900, 1200), at: tuple[int, int] | None = None) -> np.ndarray:
    img = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    out = np.full((*canvas, 3), (120, 130, 140), np.uint8)
    y, x = at if at is not None else ((canvas[0] - img.shape[0]) // 2, (canvas[1] - img.shape[1]) // 2)
    out[y:y + img.shape[0], x:x + img.shape[1]] = img
    return out


@pytest.mark.parametrize("kind,limit", [(PORTRAIT, LIM.min_eye_distance_portrait), (CARD, LIM.min_eye_distance_card)])
@pytest.mark.parametrize("ratio", [0.8, 1.25])
def test_face_too_small_follows_the_eye_distance(matcher, head, native_eyes, kind, limit, ratio):
    scale = ratio * limit / native_eyes
    result = analyze(matcher, placed(head, scale), "img1" if kind == CARD else "img2", kind)
    measured = eye_distance(result.face.landmarks)
    assert measured == pytest.approx(ratio * limit, rel=0.08)
    small = [f for f in result.findings if f.code == 11]
    assert bool(small) == (ratio < 1)
    if small:
        assert small[0].limit == limit and small[0].value == pytest.approx(measured)


@pytest.mark.parametrize("gap,expected", [(0.0, True), (0.02, True), (0.25, False)])
def test_margin_follows_the_face_box(matcher, head, native_eyes, gap, expected):
    scale = 2.0
    probe = analyze(matcher, placed(head, scale), "img2", PORTRAIT).face.box
    width = probe[2] - probe[0]
    # Shift the head so the face box's left edge lands ``gap`` face widths from the border.
    offset_in_head = probe[0] - (1200 - head.shape[1] * scale) // 2
    x = int(round(gap * width - offset_in_head))
    img = placed(head, scale, at=(150, 0))
    img = np.roll(img, x, axis=1) if x >= 0 else np.pad(img[:, -x:], ((0, 0), (0, -x), (0, 0)), constant_values=130)
    result = analyze(matcher, img, "img2", PORTRAIT)
    x1, y1, x2, y2 = result.face.box
    h, w = img.shape[:2]
    margin = min(x1, y1, w - x2, h - y2) / (x2 - x1)
    assert margin == pytest.approx(gap, abs=0.05)  # the face landed where it was put
    found = [f for f in result.findings if f.code == 12]
    assert bool(found) == expected == (margin < LIM.min_margin_fraction)
    if found:
        assert found[0].value == pytest.approx(margin) and found[0].limit == LIM.min_margin_fraction


def test_a_match_below_the_calibrated_face_size_goes_to_review(matcher, head, native_eyes):
    """Below ``min_calibrated_eye_distance`` the calibration's false-accept
    rate was never measured: a match (1) becomes review (0), with a finding
    on the small image; review and no-match are left as they are."""
    limit = matcher.min_calibrated_eye_distance
    assert limit > 0
    big = analyze(matcher, head, "img2", PORTRAIT)
    tiny = analyze(matcher, placed(head, 0.8 * limit / native_eyes, canvas=(300, 400)), "img1", CARD)
    assert tiny.face is not None and eye_distance(tiny.face.landmarks) < limit
    verdict, doubts = matcher.vouched(1, tiny, big)
    assert verdict == 0
    assert [(f.code, f.check, f.image, f.limit) for f in doubts] == [(11, "face_too_small_for_calibration", "img1", limit)]
    assert doubts[0].value == pytest.approx(eye_distance(tiny.face.landmarks), abs=0.05)
    assert matcher.vouched(1, big, big) == (1, [])
    assert matcher.vouched(0, tiny, big) == (0, []) and matcher.vouched(-1, tiny, big) == (-1, [])
    result = matcher.compare(tiny, big)  # through the matcher: never a 1 on the tiny face
    assert result.match == (0 if result.matching > 75 else decision(result.matching))
    assert any(f.check == "face_too_small_for_calibration" for f in result.findings) == (result.matching > 75)
