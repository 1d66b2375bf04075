"""Which checks ``run_checks`` runs where, without a face (no model needed)."""

from __future__ import annotations

import numpy as np

from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from facematch.types import ImageKind
from tools.synth import cards


def context(rgb: np.ndarray, kind: str) -> FaceContext:
    return FaceContext(rgb, "img1" if kind == "card" else "img2", ImageKind(kind), [], None, None, None)


def test_faceless_scene_sent_as_card_is_no_document(no_face):
    assert [f.code for f in run_checks(context(no_face, "card"), CheckLimits())] == [1]


def test_faceless_card_is_a_document(astronaut):
    card, _ = cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0))
    assert 1 not in {f.code for f in run_checks(context(card, "card"), CheckLimits())}


def test_faceless_portrait_runs_only_recapture(no_face):
    assert run_checks(context(no_face, "portrait"), CheckLimits()) == []
    screen = cards.screen_recapture(no_face, np.random.default_rng(0))
    assert [f.check for f in run_checks(context(screen, "portrait"), CheckLimits())] == ["recapture"]


def test_chip_portrait_gets_no_card_or_camera_checks(no_face, astronaut):
    """A chip portrait is neither a photographed card nor a camera photo: no
    card-presence (1), photocopy (2), recapture (10) or margin (12) finding."""
    screen = cards.screen_recapture(no_face, np.random.default_rng(0))
    for rgb in (no_face, screen, np.ascontiguousarray(astronaut[:, :, ::-1])):
        assert run_checks(FaceContext(rgb, "img1", ImageKind.CHIP, [], None, None, None), CheckLimits()) == []


def test_card_gets_the_attack_model_and_the_spectral_check(astronaut):
    """On a card photo either flags: the model's score above the limit gives
    ``presentation_attack``; a screen's moire gives ``recapture`` even when
    the model's score is low (the two miss different synthetic attacks)."""
    card, _ = cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0))
    limits = CheckLimits()
    high = limits.fraud.max_attack_score + 0.05

    def checks(rgb: np.ndarray, score: float) -> list[str]:
        ctx = FaceContext(rgb, "img1", ImageKind.CARD, [], None, None, None, score)
        return [f.check for f in run_checks(ctx, limits) if f.code == 10]

    assert checks(card, 0.1) == []
    assert checks(card, high) == ["presentation_attack"]
    screen = cards.screen_recapture(card, np.random.default_rng(0))
    assert checks(screen, 0.1) == ["recapture"]
    # On a portrait the model alone decides when it is configured.
    portrait = FaceContext(screen, "img2", ImageKind.PORTRAIT, [], None, None, None, 0.1)
    assert [f.check for f in run_checks(portrait, limits) if f.code == 10] == []


def test_the_attack_model_scores_cards_and_portraits_not_chip_portraits(astronaut):
    from facematch.matcher import _attack_score

    class Detector:
        def score(self, rgb: np.ndarray, box: object, kind: ImageKind) -> float:
            return 0.5

    rgb = np.ascontiguousarray(astronaut)
    assert _attack_score(Detector(), rgb, None, ImageKind.CARD, True) == 0.5  # type: ignore[arg-type]
    assert _attack_score(Detector(), rgb, None, ImageKind.CARD, False) is None  # type: ignore[arg-type]
    assert _attack_score(Detector(), rgb, None, ImageKind.PORTRAIT, False) == 0.5  # type: ignore[arg-type]
    assert _attack_score(Detector(), rgb, None, ImageKind.CHIP, True) is None  # type: ignore[arg-type]
    assert _attack_score(None, rgb, None, ImageKind.CARD, True) is None


def test_a_portrait_face_too_small_is_not_judged_by_the_attack_model(astronaut):
    """Below the portrait size limit the model's score is not read (11 says why), as blur and noise
    are not; at a usable size the same score gives ``presentation_attack``."""
    from facematch.models.blazeface import Detection

    limits = CheckLimits()
    high = limits.fraud.max_attack_score + 0.05
    rgb = np.ascontiguousarray(astronaut)

    def codes(eye_distance: float) -> list[tuple[int, str]]:
        # dlib's 5 points: outer and inner corner of each eye, then the nose.
        x0 = 200.0
        points = np.array([[x0 + eye_distance + 10, 200], [x0 + eye_distance - 10, 200],
                           [x0 - 10, 200], [x0 + 10, 200], [x0 + eye_distance / 2, 240]], np.float32)
        face = Detection((150.0, 120.0, 350.0, 360.0), 0.9, np.zeros((6, 2), np.float32))
        ctx = FaceContext(rgb, "img2", ImageKind.PORTRAIT, [face], face, points, None, high)
        return [(int(f.code), f.check) for f in run_checks(ctx, limits) if f.code in (10, 11)]

    small = limits.geometry.min_eye_distance_portrait / 2
    assert codes(small) == [(11, "face_too_small")]
    assert codes(2 * limits.geometry.min_eye_distance_portrait) == [(10, "presentation_attack")]
