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


class UprightOnly:
    """The real detector's faces that both its models are sure of, blind to those not upright (as BlazeFace
    is to a third of the upside-down card portraits of the dev data's phone photos, docs/checks.md)."""

    def __init__(self, detector):
        self.detector = detector

    def detect(self, rgb):
        from facematch.checks.card import quarter_turns
        from facematch.models.facemesh import Mesh

        return [d for d in self.detector.detect(rgb) if isinstance(d.mesh, Mesh) and d.mesh.face_score >= 0.5
                and d.score >= 0.7 and quarter_turns(d.mesh.points) == 0]

    def detect_in(self, rgb, region, window, known):
        return self.detector.detect_in(rgb, region, window, known)


def test_upside_down_card_is_turned_and_matched(bundle, head):
    """A card photo upside down, on a detector that sees only upright faces: the matcher turns the photo,
    matches its portrait with the selfie, reports the box in the photo as sent and the crop upright."""
    from facematch.matcher import build_matcher
    from facematch.models.bundle import ModelBundle, ModelPool
    from facematch.settings import Settings

    pool = ModelPool([ModelBundle(UprightOnly(bundle.detector), bundle.landmarker, bundle.embedder, bundle.attack)])
    m = build_matcher(Settings(), pool=pool, parallel=False)
    photo, portrait_box = card_photo(head, 0)
    upright = analyze(m, photo, "img1", CARD)
    flipped = np.ascontiguousarray(np.rot90(photo, 2))
    turned = analyze(m, flipped, "img1", CARD)
    assert upright.turned == 0 and turned.turned == 2
    h, w = photo.shape[:2]
    x1, y1, x2, y2 = turned.face.box
    assert (w - x2, h - y2, w - x1, h - y1) == pytest.approx(upright.face.box, abs=1.0)
    assert turned.face.crop.shape == upright.face.crop.shape
    assert not turned.findings  # a genuine card, judged upright
    selfie = cards.render_portrait_selfie(head, np.random.default_rng(100))
    result = m.compare(turned, analyze(m, selfie, "img2", PORTRAIT))
    assert result.match == 1
