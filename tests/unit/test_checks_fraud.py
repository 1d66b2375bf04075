"""Recapture and tampering on generated images: the astronaut's synthetic card
photo and selfie, shown on a virtual screen or printed and photographed again."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks.fraud import FraudLimits, recapture, tampering
from facematch.imaging.spectrum import face_patch, peak_prominence
from tools.synth import cards

LIM = FraudLimits()


@pytest.fixture(scope="module")
def head(astronaut) -> np.ndarray:
    return astronaut[0:300, 113:338]


@pytest.fixture(scope="module")
def card_photo(head):
    rng = np.random.default_rng(0)
    flat, portrait = cards.render_card(head, rng)
    photo, homography = cards.photograph_with_homography(flat, rng)
    return photo, cards.map_box(portrait, homography)


@pytest.fixture(scope="module")
def selfie(head):
    return cards.render_portrait_selfie(head, np.random.default_rng(3))


@pytest.mark.parametrize("which", ["card", "selfie"])
def test_camera_photos_are_not_recaptures(which, card_photo, selfie):
    img, box = card_photo if which == "card" else (selfie, None)
    assert recapture(img, box, "img1", LIM) == []


@pytest.mark.parametrize("attack", ["screen", "print"])
@pytest.mark.parametrize("which", ["card", "selfie"])
def test_screen_and_print_recaptures_are_found(attack, which, card_photo, selfie):
    img, box = card_photo if which == "card" else (selfie, None)
    make = cards.screen_recapture if attack == "screen" else cards.print_recapture
    found = recapture(make(img, np.random.default_rng(4)), box, "img2", LIM)
    assert [f.code for f in found] == [10]
    assert found[0].check == "recapture" and found[0].value > LIM.max_peak


def test_a_pure_grating_is_one_strong_peak():
    y, x = np.mgrid[0:256, 0:256]
    grating = 128 + 60 * np.sin(2 * np.pi * (x * 0.21 + y * 0.13))
    noise = np.random.default_rng(0).normal(128, 20, (256, 256))
    assert peak_prominence(grating.astype(np.float32)) > 5 > LIM.max_peak > peak_prominence(noise.astype(np.float32))


def test_face_patch_stays_inside_small_images():
    img = np.zeros((100, 150, 3), np.uint8)
    assert face_patch(img, (140, 90, 150, 100), 256).shape == (96, 96)
    assert face_patch(img[:50, :50], None, 256) is None


def test_tampering_quiet_on_the_printed_portrait(card_photo):
    photo, box = card_photo
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    face = (x1 + 0.29 * w, y1 + 0.24 * h, x1 + 0.71 * w, y1 + 0.60 * h)
    assert tampering(photo, face, "img1", LIM) == []


def test_tampering_finds_a_portrait_sharper_than_the_print(card_photo):
    photo, box = card_photo
    pasted = photo.copy()
    x1, y1, x2, y2 = box
    rng = np.random.default_rng(5)
    # A pasted picture with its own pixel-level texture, far crisper than the print.
    pasted[y1:y2, x1:x2] = rng.integers(0, 256, (y2 - y1, x2 - x1, 1), dtype=np.uint8).repeat(3, axis=2)
    w, h = x2 - x1, y2 - y1
    face = (x1 + 0.29 * w, y1 + 0.24 * h, x1 + 0.71 * w, y1 + 0.60 * h)
    found = tampering(pasted, face, "img1", LIM)
    assert [f.code for f in found] == [3]
    assert found[0].value > LIM.max_sharpness_ratio


def test_presentation_attack_reports_the_detectors_score_and_limit():
    from facematch.checks.fraud import presentation_attack
    from facematch.types import InvalidCode

    lim = FraudLimits(max_attack_score=0.6)
    assert presentation_attack(0.59, "img2", lim) == []
    assert presentation_attack(None, "img2", lim) == []
    (f,) = presentation_attack(0.9, "img2", lim)
    assert (f.code, f.check, f.image, f.value, f.limit) == (InvalidCode.FRAUD, "presentation_attack", "img2", 0.9, 0.6)


def test_presentation_attack_on_a_synthetic_replay_of_the_astronaut(head):
    from facematch.checks.fraud import presentation_attack
    from facematch.models.pad import RecaptureDetector
    from tools.synth.recapture import screen_replay

    det = RecaptureDetector.load()
    box = (45.0, 40.0, 175.0, 190.0)
    scores = [det.score(screen_replay(head, s), box) for s in range(8)]
    # the limit moves with the setting: below every score flags all of them, above none
    assert all(presentation_attack(s, "img2", FraudLimits(max_attack_score=min(scores) - 1e-6)) for s in scores)
    assert not any(presentation_attack(s, "img2", FraudLimits(max_attack_score=1.0)) for s in scores)
