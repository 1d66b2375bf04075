"""Synthetic ID cards and their virtual photographs (tools.synth.cards)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")

from tools.synth import cards  # noqa: E402  (after the skip)


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return skimage_data.astronaut()[0:300, 113:338]


@pytest.fixture(scope="module")
def other_face() -> np.ndarray:
    return skimage_data.camera()[30:290, 100:295]  # greyscale on purpose


@pytest.fixture(scope="module")
def small_card(face: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    return cards.render_card(face, np.random.default_rng(7), width=480)


def _is_rgb_u8(img: np.ndarray, shape: tuple[int, int]) -> bool:
    return img.dtype == np.uint8 and img.shape == (shape[0], shape[1], 3)


def _periodic_energy(img: np.ndarray) -> float:
    """Peakiness of the whitened amplitude spectrum (colour channels summed) away from DC.

    Natural images have a smooth ~1/f spectrum, so after multiplying by the
    radial frequency the band is flat-ish; moire and sub-pixel grids add sharp peaks.
    """
    h, w = img.shape[:2]
    win = np.outer(np.hanning(h), np.hanning(w))
    spec = sum(np.abs(np.fft.fft2((img[:, :, c] - img[:, :, c].mean()) * win)) for c in range(3))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    r = np.hypot(fx, fy)
    band = (spec * r)[r > 0.04]
    return float(np.sort(band)[-20:].mean() / np.median(band))


def _centre(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].astype(np.float64)


# --------------------------------------------------------------------------- render_card


@pytest.mark.parametrize("width", [1012, 480])
def test_card_shape_and_portrait_box(face: np.ndarray, width: int) -> None:
    card, (x1, y1, x2, y2) = cards.render_card(face, np.random.default_rng(1), width=width)
    h = round(width * 53.98 / 85.6)
    assert _is_rgb_u8(card, (h, width))
    assert cards.card_height(width) == h
    # Inside the card, on the left half, 22-26 % of the width, about 3:4, lower-middle.
    assert 0 <= x1 < x2 <= width // 2
    assert 0 <= y1 < y2 <= h
    assert 0.22 <= (x2 - x1) / width <= 0.26
    assert abs((x2 - x1) / (y2 - y1) - 0.75) < 0.02
    assert 0.5 * h < (y1 + y2) / 2 < 0.75 * h
    assert y1 > 0.25 * h
    # The portrait really is the face image.
    want = cv2.resize(cards.crop_to_aspect(face, 0.75), (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    got = card[y1:y2, x1:x2]
    corr = np.corrcoef(want.astype(float).ravel(), got.astype(float).ravel())[0, 1]
    assert corr > 0.95


def test_card_is_deterministic(face: np.ndarray) -> None:
    a, box_a = cards.render_card(face, np.random.default_rng(3), width=400)
    b, box_b = cards.render_card(face, np.random.default_rng(3), width=400)
    c, _ = cards.render_card(face, np.random.default_rng(4), width=400)
    assert box_a == box_b
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # An integer seed works like a generator seeded with it.
    d, _ = cards.render_card(face, 3, width=400)
    assert np.array_equal(a, d)


def test_a_ghost_is_a_second_smaller_print_at_the_lower_right_and_changes_nothing_else(face: np.ndarray) -> None:
    plain, box = cards.render_card(face, np.random.default_rng(3), width=800)
    ghosted, box_g = cards.render_card(face, np.random.default_rng(3), width=800, ghost=True)
    assert box == box_g
    changed = np.argwhere((plain != ghosted).any(axis=2))
    assert len(changed) > 0
    (y1, x1), (y2, x2) = changed.min(axis=0), changed.max(axis=0)
    assert y2 < plain.shape[0] - 0.04 * plain.shape[0]  # above the card's bottom margin
    portrait_w = box[2] - box[0]
    assert x1 > 0.6 * 800 and y1 > 0.5 * plain.shape[0]  # lower right, away from the portrait
    assert 0.3 * portrait_w < x2 - x1 < 0.5 * portrait_w  # a third to a half of the portrait
    # The rest of the card, the portrait's column included, is the card without a ghost.
    assert np.array_equal(plain[:, :x1], ghosted[:, :x1])


def test_card_accepts_grey_and_float_faces(other_face: np.ndarray) -> None:
    card, _ = cards.render_card(other_face, 0, width=320, name="Nguyen Van A")
    assert _is_rgb_u8(card, (cards.card_height(320), 320))
    card2, _ = cards.render_card(other_face.astype(np.float32) / 255.0, 0, width=320, name="Nguyen Van A")
    assert np.abs(card.astype(int) - card2.astype(int)).max() <= 1


def test_random_identity_fields() -> None:
    ident = cards.random_identity(5)
    assert len(ident["number"]) == 12 and ident["number"].isdigit()
    assert ident["sex"] in ("Nam", "Nu")
    assert ident["name"] == ident["name"].upper()
    assert cards.random_identity(5) == ident


# --------------------------------------------------------------------------- photograph


def test_photograph_shape_determinism_and_box(small_card) -> None:
    card, box = small_card
    a, hom = cards.photograph_with_homography(card, np.random.default_rng(11), out_size=(640, 480))
    b = cards.photograph(card, np.random.default_rng(11), out_size=(640, 480))
    assert _is_rgb_u8(a, (480, 640))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, cards.photograph(card, np.random.default_rng(12), out_size=(640, 480)))
    # The whole card is in the frame and 55-80 % of its width (give or take the perspective jitter).
    corners = cv2.perspectiveTransform(
        np.array([[[0, 0]], [[card.shape[1], 0]], [[card.shape[1], card.shape[0]]], [[0, card.shape[0]]]], np.float64), hom
    )[:, 0]
    assert corners.min() >= 0 and corners[:, 0].max() <= 640 and corners[:, 1].max() <= 480
    assert 0.45 * 640 < corners[:, 0].max() - corners[:, 0].min() < 0.95 * 640
    px1, py1, px2, py2 = cards.map_box(box, hom)
    assert 0 <= px1 < px2 <= 640 and 0 <= py1 < py2 <= 480
    assert px2 - px1 > 0.1 * 640


def test_photograph_strength_zero_is_clean(small_card) -> None:
    card, _ = small_card
    out = cards.photograph(card, 0, out_size=(320, 400), strength=0.0)  # portrait-orientation output too
    assert _is_rgb_u8(out, (400, 320))


# --------------------------------------------------------------------------- photocopy / tampering


def test_photocopy_is_grey(small_card) -> None:
    card, _ = small_card
    pc = cards.photocopy(card, np.random.default_rng(2))
    assert _is_rgb_u8(pc, card.shape[:2])
    spread = pc.max(axis=2).astype(int) - pc.min(axis=2).astype(int)
    assert spread.max() <= 2
    assert np.array_equal(pc, cards.photocopy(card, np.random.default_rng(2)))
    # Contrast is pushed: the pale background goes near paper white.
    assert np.percentile(pc[..., 0], 60) > 200
    photo = cards.photograph(pc, 3, out_size=(400, 300))
    assert _is_rgb_u8(photo, (300, 400))


def test_swap_portrait(small_card, other_face: np.ndarray) -> None:
    card, (x1, y1, x2, y2) = small_card
    before = card.copy()
    t = cards.swap_portrait(card, (x1, y1, x2, y2), other_face, np.random.default_rng(4))
    assert np.array_equal(card, before)  # input untouched
    assert _is_rgb_u8(t, card.shape[:2])
    assert np.array_equal(t, cards.swap_portrait(card, (x1, y1, x2, y2), other_face, np.random.default_rng(4)))
    m = 4  # misalignment allowance
    outside = np.ones(card.shape[:2], bool)
    outside[max(0, y1 - m) : y2 + m, max(0, x1 - m) : x2 + m] = False
    assert np.array_equal(t[outside], card[outside])
    inner = (slice(y1 + m, y2 - m), slice(x1 + m, x2 - m))
    assert np.abs(t[inner].astype(int) - card[inner].astype(int)).mean() > 20


# --------------------------------------------------------------------------- presentation attacks


def test_screen_recapture_adds_periodic_energy(face: np.ndarray) -> None:
    img = skimage_data.astronaut()
    base = _periodic_energy(_centre(img))
    for seed in (0, 1):
        out = cards.screen_recapture(img, np.random.default_rng(seed))
        assert _is_rgb_u8(out, img.shape[:2])
        assert _periodic_energy(_centre(out)) > 1.5 * base
    card, _ = cards.render_card(face, 0, width=400)
    out = cards.screen_recapture(card, 5)
    assert out.shape == card.shape
    assert _periodic_energy(_centre(out)) > 1.3 * _periodic_energy(_centre(card))
    assert np.array_equal(out, cards.screen_recapture(card, 5))


def test_print_recapture(small_card) -> None:
    card, _ = small_card
    out = cards.print_recapture(card, np.random.default_rng(6))
    assert _is_rgb_u8(out, card.shape[:2])
    assert np.array_equal(out, cards.print_recapture(card, np.random.default_rng(6)))
    # Paper and ink never reach full white / black, and the image is softened.
    grey = lambda a: cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)  # noqa: E731
    span = lambda a: np.percentile(grey(a), 99.5) - np.percentile(grey(a), 0.5)  # noqa: E731
    assert span(out) < span(card) - 10
    lap = lambda a: cv2.Laplacian(grey(a), cv2.CV_64F).var()  # noqa: E731
    assert lap(out) < lap(card)


# --------------------------------------------------------------------------- selfie


def test_render_portrait_selfie(face: np.ndarray) -> None:
    out = cards.render_portrait_selfie(face, np.random.default_rng(8))
    assert _is_rgb_u8(out, (960, 1280))
    assert np.array_equal(out, cards.render_portrait_selfie(face, np.random.default_rng(8)))
    small = cards.render_portrait_selfie(face, 9, out_size=(480, 360), face_box=(60, 60, 170, 190))
    assert _is_rgb_u8(small, (360, 480))


def test_cli_usage(capsys) -> None:
    assert cards.main([]) == 2
    assert "usage" in capsys.readouterr().out
