"""Recapture and tampering on generated images: the astronaut's synthetic card
photo and selfie, shown on a virtual screen or printed and photographed again;
the ghost portrait's geometry and finding on made-up boxes."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks.fraud import (
    FraudLimits,
    GhostPortrait,
    ghost_mismatch,
    ghost_placed,
    ghost_region,
    recapture,
    same_roll,
    tampering,
)
from facematch.imaging.spectrum import colour_peak_prominence, face_patch, face_square, peak_prominence
from facematch.scoring import REVIEW_FROM
from facematch.types import InvalidCode
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


def test_on_a_card_photo_a_screen_is_found_and_a_print_is_left_to_the_photocopy_check(card_photo):
    img, box = card_photo
    screen = cards.screen_recapture(img, np.random.default_rng(4))
    assert [f.code for f in recapture(screen, box, "img1", LIM, card=True)] == [10]
    printed = cards.print_recapture(img, np.random.default_rng(4))
    assert recapture(printed, box, "img1", LIM) != []  # the halftone's grey peak
    assert recapture(printed, box, "img1", LIM, card=True) == []  # one ink at a time: no sub-pixel colour


def guilloched_card_photo(head: np.ndarray, seed: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A card whose whole face is overprinted with fine line art in one ink (lines 4 px apart, gently
    waving, the portrait included, as security printing does), photographed."""
    rng = np.random.default_rng(seed)
    flat, portrait = cards.render_card(head, rng)
    h, w = flat.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    lines = (0.5 + 0.5 * np.cos(2 * np.pi * (x / 4.0 + y / 9.0 + 0.6 * np.sin(2 * np.pi * y / 300)))) ** 2
    ink = np.array([0.35, 0.55, 0.75], np.float32)
    printed = np.clip(flat * (1 - 0.45 * lines[:, :, None] * (1 - ink)), 0, 255).astype(np.uint8)
    photo, homography = cards.photograph_with_homography(printed, rng)
    return photo, cards.map_box(portrait, homography)


@pytest.mark.parametrize("seed", range(4))
def test_a_guilloche_is_not_a_screen_but_the_same_card_on_a_screen_is(head, seed):
    photo, box = guilloched_card_photo(head, seed)
    # The line art is periodic: its grey peak alone would read as a recapture (the portrait-side rule) ...
    assert peak_prominence(face_patch(photo, box, LIM.patch)) > LIM.max_peak
    assert recapture(photo, box, "img1", LIM) != []
    # ... but its one ink moves the three channels together: no sub-pixel colour, no code 10 on a card.
    assert colour_peak_prominence(face_square(photo, box, LIM.patch)) < LIM.max_colour_peak
    assert recapture(photo, box, "img1", LIM, card=True) == []
    # Shown on a screen and photographed again, the sub-pixel colour is there: the colour condition
    # takes no screen away from the grey peak.
    screen = cards.screen_recapture(photo, np.random.default_rng(seed))
    assert colour_peak_prominence(face_square(screen, box, LIM.patch)) > LIM.max_colour_peak
    grey_found = peak_prominence(face_patch(screen, box, LIM.patch)) > LIM.max_peak
    assert bool(recapture(screen, box, "img1", LIM, card=True)) == grey_found


def test_the_colour_spectrum_is_blind_to_grey_and_in_phase_colour():
    y, x = np.mgrid[0:256, 0:256]
    wave = np.sin(2 * np.pi * (x * 0.21 + y * 0.13))
    noise = np.random.default_rng(0).normal(0, 3, (256, 256, 3))
    in_phase = 128 + wave[:, :, None] * np.array([60.0, 30.0, 10.0]) + noise  # one ink: amplitudes differ
    # R, G and B a third of a period apart, as a screen's sub-pixels are.
    shifted = 128 + 40 * np.stack([np.sin(2 * np.pi * (x * 0.21 + y * 0.13) + k * 2 * np.pi / 3) for k in range(3)], 2)
    assert colour_peak_prominence(np.clip(in_phase, 0, 255).astype(np.uint8)) < LIM.max_colour_peak
    assert colour_peak_prominence(np.clip(shifted + noise, 0, 255).astype(np.uint8)) > 5
    assert colour_peak_prominence(np.full((128, 128, 3), 90, np.uint8)) < 1


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


def close_up(card: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A card photographed close, at high resolution: 3x the print's pixels, its edges spread over a few
    of them by the lens (sigma 1.5 px), sensor noise on top (3 grey levels)."""
    import cv2

    big = cv2.resize(card, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big = cv2.GaussianBlur(big, (0, 0), 1.5) + rng.normal(0, 3, big.shape)
    return np.clip(big, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(3))
def test_tampering_quiet_on_a_genuine_close_up(head, seed):
    """At native resolution the re-blur reads the face's noise and texture against the print's soft
    edges, and the genuine portrait of a ~300 px face measured 1.6-1.9 times sharper than its print
    (the limit is 1.3); measured where the face is ``tamper_face_width`` px wide, it is not."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    flat, portrait = cards.render_card(head, rng)
    photo = close_up(flat, rng)
    x1, y1, x2, y2 = (3 * v for v in portrait)
    w, h = x2 - x1, y2 - y1
    face = (x1 + 0.29 * w, y1 + 0.24 * h, x1 + 0.71 * w, y1 + 0.60 * h)
    assert face[2] - face[0] > 2 * LIM.tamper_face_width
    assert tampering(photo, face, "img1", replace(LIM, tamper_face_width=10 ** 6)) != []  # native scale
    assert tampering(photo, face, "img1", LIM) == []
    pasted = photo.copy()  # a portrait with its own pixel-level texture is still found at that scale
    pasted[y1:y2, x1:x2] = rng.integers(0, 256, (y2 - y1, x2 - x1, 1), dtype=np.uint8).repeat(3, axis=2)
    assert [f.code for f in tampering(pasted, face, "img1", LIM)] == [3]


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


def _texture(seed: int, size: int = 112) -> np.ndarray:
    import cv2

    noise = np.random.default_rng(seed).normal(0, 1, (size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return np.clip(128 + 40 * smooth / smooth.std(), 0, 255).astype(np.uint8)


def test_photo_similarity_tells_one_picture_from_another():
    import cv2

    from facematch.checks.fraud import photo_similarity

    a = _texture(1)
    # The same picture again, through a second camera: shifted a pixel, softened, brighter, on a 150-px crop.
    again = cv2.resize(cv2.GaussianBlur(np.roll(a, 1, axis=1), (0, 0), 0.8), (150, 150)).astype(np.int16) + 20
    assert photo_similarity(a, np.clip(again, 0, 255).astype(np.uint8)) > LIM.max_photo_similarity
    assert photo_similarity(a, np.ascontiguousarray(a[:, ::-1])) > LIM.max_photo_similarity  # stored mirrored
    assert photo_similarity(a, _texture(2)) < 0.5
    flat = np.full((112, 112), 128, np.uint8)
    assert photo_similarity(flat, a) == 0.0 and photo_similarity(flat, flat) == 0.0


def test_same_photo_reports_the_portrait_and_can_be_turned_off():
    from dataclasses import replace

    from facematch.checks.fraud import same_photo
    from facematch.types import InvalidCode

    a = _texture(3)
    [finding] = same_photo(a, a, "img2", LIM)
    assert (finding.code, finding.check, finding.image, finding.limit) == (InvalidCode.FRAUD, "same_photo", "img2",
                                                                          LIM.max_photo_similarity)
    assert same_photo(a, a, "img2", replace(LIM, max_photo_similarity=1.01)) == []
    assert same_photo(a, _texture(4), "img2", LIM) == []


# --------------------------------------------------------------------------- the ghost portrait


def _eyes(box: tuple[float, float, float, float], degrees: float = 0.0) -> np.ndarray:
    """dlib's 5 points of a face in ``box`` whose eye line is turned ``degrees`` (image axes)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    r = (box[2] - box[0]) / 4
    ux, uy = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    right, left = (cx - r * ux, cy - r * uy), (cx + r * ux, cy + r * uy)
    return np.array([right, right, left, left, (cx, cy + r)], dtype=np.float32)


PORTRAIT = (100.0, 300.0, 200.0, 400.0)  # a 100-px face


def _face_at(dx: float, dy: float, width: float) -> tuple[float, float, float, float]:
    """A face ``width`` px wide whose centre is ``dx``, ``dy`` portrait-face widths from the portrait's."""
    cx, cy = 150 + 100 * dx, 350 + 100 * dy
    return (cx - width / 2, cy - width / 2, cx + width / 2, cy + width / 2)


@pytest.mark.parametrize(("dx", "dy", "width", "placed"), [
    (4.0, 1.0, 45, True),     # a ghost at the card's right, a little lower
    (-4.0, 0.0, 40, True),    # or at its left (a portrait on the right)
    (4.0, 1.0, 90, False),    # as large as the portrait: another card, not a second print of it
    (4.0, 1.0, 10, False),    # a speck
    (9.0, 0.0, 45, False),    # farther than an ID-1 card is wide
    (1.0, 4.0, 45, False),    # far above or below the eye line: a newspaper's photo beside the card
])
def test_a_ghost_is_placed_as_a_second_print_on_the_same_card(dx, dy, width, placed):
    limits = FraudLimits()
    face = _face_at(dx, dy, width)
    assert ghost_placed(PORTRAIT, _eyes(PORTRAIT), face, limits) is placed
    if placed:  # the region the matcher searches holds every placed ghost
        x1, y1, x2, y2 = ghost_region(PORTRAIT, _eyes(PORTRAIT), limits)
        assert x1 <= face[0] and y1 <= face[1] and face[2] <= x2 and face[3] <= y2


def test_a_card_photographed_turned_keeps_its_ghost_along_the_eye_line():
    """On a card turned a quarter the eye line is vertical: along and across turn with it."""
    limits = FraudLimits()
    turned = _eyes(PORTRAIT, 90.0)
    assert ghost_placed(PORTRAIT, turned, _face_at(1.0, 4.0, 45), limits)
    assert not ghost_placed(PORTRAIT, turned, _face_at(4.0, 1.0, 45), limits)


def test_two_prints_on_one_card_share_the_eye_line():
    limits = FraudLimits()
    assert same_roll(_eyes(PORTRAIT, 5.0), _eyes(PORTRAIT, -10.0), limits)
    assert same_roll(_eyes(PORTRAIT, 175.0), _eyes(PORTRAIT, -178.0), limits)  # across the wrap
    assert not same_roll(_eyes(PORTRAIT, 0.0), _eyes(PORTRAIT, 40.0), limits)


def test_ghost_mismatch_reports_the_least_alike_ghost_below_the_review_boundary():
    limits = FraudLimits()
    assert limits.min_ghost_matching == REVIEW_FROM  # the service's own "different people", not fitted
    box = _face_at(4.0, 1.0, 45)
    assert ghost_mismatch([], "img1", limits) == []
    assert ghost_mismatch([GhostPortrait(box, 82.0)], "img1", limits) == []
    found = ghost_mismatch([GhostPortrait(box, 82.0), GhostPortrait(box, 31.5)], "img1", limits)
    assert [(f.code, f.check, f.image, f.value, f.limit) for f in found] == [
        (InvalidCode.TAMPERING, "ghost_mismatch", "img1", 31.5, REVIEW_FROM)]
