"""The matcher on the real weights, with generated images: the astronaut
(scikit-image, public domain) on a synthetic ID card photographed by a virtual
phone, against a selfie of the same face and against the camera man."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.models import weights
from tests.support.images import analyze, match
from tools.synth import cards

CARD, PORTRAIT = "card", "portrait"

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def head(astronaut):
    return astronaut[0:300, 113:338]


def card_photo(head, seed):
    rng = np.random.default_rng(seed)
    card, box = cards.render_card(head, rng)
    photo, homography = cards.photograph_with_homography(card, rng)
    return photo, cards.map_box(box, homography)


def test_weights_are_the_published_files():
    for w in weights.ALL:
        assert w.verified_path().is_file()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_card_portrait_matches_selfie(matcher, head, seed):
    photo, portrait_box = card_photo(head, seed)
    selfie = cards.render_portrait_selfie(head, np.random.default_rng(100 + seed))
    result = match(matcher, photo, selfie, CARD)
    # The face found on the card lies inside the printed portrait.
    x1, y1, x2, y2 = result.image1.face.box
    px1, py1, px2, py2 = portrait_box
    assert px1 - 5 <= x1 and y1 >= py1 - 5 and x2 <= px2 + 5 and y2 <= py2 + 5
    # A match well inside the match region, whatever the calibration: at least a quarter of the
    # 75 % threshold's distance to spare.
    assert result.match == 1 and result.distance < 0.75 * matcher.calibration.distance_at(75)
    assert result.image1.face.score > 0.7 and result.image2.face.score > 0.7
    assert result.image1.face.crop.ndim == 3 and result.image1.face.crop.size > 0


def test_different_people_score_far_below_65(matcher, head, cameraman):
    photo, _ = card_photo(head, 3)
    result = match(matcher, photo, cameraman, CARD)
    assert result.matching < 45 and result.match == -1


def test_lfw_sized_tight_crop_is_found(matcher, astronaut):
    import cv2

    crop = cv2.resize(astronaut[40:230, 150:310], (150, 150))  # face fills the frame, as in LFW
    assert analyze(matcher, crop, "img2", PORTRAIT).face is not None


def test_two_people_give_invalid_code_6(matcher, astronaut, cameraman):
    import cv2

    scene = np.full((600, 1100, 3), 90, dtype=np.uint8)
    scene[44:556, 20:532] = astronaut
    scene[44:556, 570:1082] = cv2.resize(cameraman, (512, 512))
    result = match(matcher, scene, astronaut, PORTRAIT)
    assert result.image1.face_count == 2
    assert result.invalid_code == 6
    assert any(f.code == 6 and f.image == "img1" for f in result.findings)


def test_no_face_scene(matcher, no_face):
    assert analyze(matcher, no_face, "img2", PORTRAIT).face is None
