"""The presentation-attack detector (``facematch.models.pad``) on generated
images: the astronaut (public domain) photographed, shown on a simulated
screen, or printed (``tools/synth/recapture.py``)."""

from __future__ import annotations

import json
import math
import threading

import cv2
import numpy as np
import pytest

from facematch.checks.fraud import FraudLimits
from facematch.models.pad import FEATURES, HUE_BINS, RecaptureDetector, features, hue_texture
from facematch.models.protocols import AttackDetector
from facematch.types import ImageKind
from tools.pad_data import (
    EXPOSURE_STOPS,
    JPEG_QUALITIES,
    Item,
    exposed,
    exposure_twins,
    image,
    recompressed,
    recompressed_twins,
)
from tools.synth import cards
from tools.synth.recapture import print_attack, screen_replay


@pytest.fixture(scope="module")
def det() -> RecaptureDetector:
    return RecaptureDetector.load()


@pytest.fixture(scope="module")
def head(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut[0:300, 113:338])


#: The astronaut's face in ``head`` (x1, y1, x2, y2).
BOX = (45.0, 40.0, 175.0, 190.0)


def test_packaged_artefact_loads_with_provenance(det):
    assert det.version == "v1" and det.name == "recapture-v1"
    assert len(det.model.weights) == len(FEATURES)
    assert {"fitted_on", "command", "date", "not_fitted_on"} <= set(det.model.provenance)
    assert any("replay_a" in s for s in det.model.provenance["fitted_on"])  # type: ignore[union-attr]


def test_the_artefact_was_fitted_on_jpeg_and_exposure_twins_too(det):
    """A client sends JPEG, taken at whatever exposure the camera chose: the fit and its limit saw every image
    saved as JPEG and taken at another exposure as well (tools/fit_pad.py)."""
    fitted_on = " ".join(det.model.provenance["fitted_on"])  # type: ignore[arg-type]
    assert "JPEG" in fitted_on and "recompressed_twins" in fitted_on and "exposure_twins" in fitted_on
    assert "JPEG and exposure twins" in str(det.model.provenance["method"])


@pytest.mark.parametrize("stops", [-1.0, 1.0])
def test_a_camera_photo_taken_a_stop_under_or_over_is_not_an_attack(det, head, stops):
    small = cv2.resize(head, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a 65 px face, as CASIA's
    for img, box in ((head, BOX), (small, tuple(v / 2 for v in BOX))):
        assert det.score(recompressed(exposed(img, stops), 90), box) < FraudLimits().max_attack_score


def test_exposure_twins_are_exposed_jpeg_copies_under_their_own_keys(tmp_path, head):
    src = tmp_path / "face.png"
    cv2.imwrite(str(src), cv2.cvtColor(head, cv2.COLOR_RGB2BGR))
    items = [Item(f"set/{i}", src, i % 2, "none", "replay:3" if i % 2 else "") for i in range(12)]
    twins = exposure_twins(items)
    assert len({t.key for t in twins} | {i.key for i in items}) == 2 * len(items) and twins == exposure_twins(items)
    assert {t.make.split("|")[-2] for t in twins} <= {f"exposure:{round(10 * s)}" for s in EXPOSURE_STOPS}
    assert all(t.make.endswith("|jpeg:90") and t.make.startswith(i.make) for t, i in zip(twins, items, strict=True))
    over, under = image(exposure_twins(items[:1], (1.0,))[0]), image(exposure_twins(items[:1], (-1.0,))[0])
    assert over.mean() > head.mean() > under.mean()
    # a stop doubles the light: a mid-grey's linear value doubles, white stays white
    assert exposed(np.full((2, 2, 3), 128, np.uint8), 1.0)[0, 0, 0] == round(255 * min(1.0, 2 * (128 / 255) ** 2.2) ** (1 / 2.2))
    assert exposed(np.full((2, 2, 3), 255, np.uint8), 1.0).min() == 255


@pytest.mark.parametrize("quality", [90, 75, 60, 40])
def test_a_camera_photo_saved_again_as_jpeg_is_not_an_attack(det, head, quality):
    small = cv2.resize(head, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a 65 px face, as CASIA's
    for img, box in ((head, BOX), (small, tuple(v / 2 for v in BOX))):
        assert det.score(recompressed(img, quality), box) < FraudLimits().max_attack_score


def test_recompressed_twins_are_jpeg_copies_under_their_own_keys(tmp_path, head):
    src = tmp_path / "face.png"
    cv2.imwrite(str(src), cv2.cvtColor(head, cv2.COLOR_RGB2BGR))
    items = [Item(f"set/{i}", src, i % 2, "none" if i % 2 == 0 else "replay", "") for i in range(12)]
    twins = recompressed_twins(items)
    assert len(twins) == len(items) and len({t.key for t in twins} | {i.key for i in items}) == 2 * len(items)
    assert all(t.make == f"jpeg:{t.key.rsplit('#jpeg', 1)[1]}" for t in twins)
    assert {int(t.make.split(":")[1]) for t in twins} <= set(JPEG_QUALITIES)
    assert [t.label for t in twins] == [i.label for i in items]
    assert twins == recompressed_twins(items)  # the quality is the key's, not a draw
    pair = recompressed_twins(items[:1], (75, 40))
    assert [t.make for t in pair] == ["jpeg:75", "jpeg:40"]
    stored, saved = image(items[0]), image(pair[1])
    assert stored.shape == saved.shape and 0 < np.abs(stored.astype(int) - saved.astype(int)).mean() < 8
    after_steps = Item("set/0#replay", src, 1, "replay", "replay:3")
    assert recompressed_twins([after_steps], (60,))[0].make == "replay:3|jpeg:60"


def test_it_is_an_attack_detector(det):
    a: AttackDetector = det
    assert isinstance(a.name, str)


def test_replays_and_prints_score_above_the_camera_photo(det, head):
    clean = det.score(head, BOX, ImageKind.PORTRAIT)
    replays = [det.score(screen_replay(head, s), BOX, ImageKind.PORTRAIT) for s in range(6)]
    prints = [det.score(print_attack(head, s), BOX, ImageKind.PORTRAIT) for s in range(6)]
    assert np.median(replays) > clean
    assert np.median(prints) > clean
    assert clean < FraudLimits().max_attack_score


def test_the_check_limit_is_the_artefacts_operating_point(det):
    assert FraudLimits().max_attack_score == pytest.approx(det.limit, abs=5e-4)


def test_a_cooler_display_white_raises_the_score(det, head):
    f = head.astype(np.float32)
    bluer = np.clip(f * np.float32([0.92, 1.0, 1.12]), 0, 255).astype(np.uint8)
    assert features(bluer, BOX)[FEATURES.index("cool")] > features(head, BOX)[FEATURES.index("cool")]
    assert det.score(bluer, BOX) > det.score(head, BOX)


def test_a_lifted_black_level_raises_the_score(det, head):
    lifted = (head.astype(np.float32) * 0.8 + 45).astype(np.uint8)
    assert features(lifted, BOX)[FEATURES.index("black")] > features(head, BOX)[FEATURES.index("black")]
    assert det.score(lifted, BOX) > det.score(head, BOX)


@pytest.mark.parametrize("shape", [(1, 1, 3), (8, 8, 3), (40, 3000, 3), (3000, 40, 3), (300, 300)])
def test_score_is_a_probability_on_odd_images(det, shape):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    s = det.score(img, None, ImageKind.CARD)
    assert math.isfinite(s) and 0.0 <= s <= 1.0


def _hue_bins() -> list[int]:
    return [FEATURES.index(f"hue_lbp{i}") for i in range(HUE_BINS)]


def test_hue_texture_is_a_histogram(head):
    h = hue_texture(head)
    assert h.shape == (HUE_BINS,) and h.min() >= 0 and h.sum() == pytest.approx(1.0)
    assert np.allclose(features(head, BOX)[_hue_bins()], hue_texture(head[40:190, 45:175]))


def test_smoothed_chroma_leaves_fewer_irregular_hue_patterns(head):
    """A second imaging chain (display, optics, the second camera's chroma subsampling) smooths the hue from
    pixel to pixel: fewer patterns with more than two changes around the circle (the last bin)."""
    ycc = cv2.cvtColor(head, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ycc[:, :, 1:] = cv2.GaussianBlur(ycc[:, :, 1:], (0, 0), 2.0)
    smooth = cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    assert hue_texture(smooth)[-1] < hue_texture(head)[-1]
    replays = [hue_texture(screen_replay(head, s))[-1] for s in range(4)]
    assert max(replays) < hue_texture(head)[-1]


def test_flat_and_greyscale_images(det, head):
    grey = np.repeat(head.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    x = features(grey, BOX)
    assert math.isnan(x[FEATURES.index("chroma")]) and math.isnan(x[FEATURES.index("cool")])
    assert np.isnan(x[_hue_bins()]).all()
    for img in (grey, np.full((200, 200, 3), 128, np.uint8), np.zeros((200, 200, 3), np.uint8)):
        assert 0.0 <= det.score(img, None) <= 1.0


def test_boxes_outside_or_degenerate(det, head):
    for box in [None, (-50.0, -50.0, 10.0, 10.0), (500.0, 500.0, 900.0, 900.0), (20.0, 20.0, 20.0, 20.0)]:
        assert 0.0 <= det.score(head, box) <= 1.0


def test_card_photo_with_its_portrait_box(det, head):
    rng = np.random.default_rng(0)
    flat, portrait = cards.render_card(head, rng)
    photo, hom = cards.photograph_with_homography(flat, rng)
    box = tuple(float(v) for v in cards.map_box(portrait, hom))
    assert 0.0 <= det.score(photo, box, ImageKind.CARD) <= 1.0  # type: ignore[arg-type]


def test_same_score_from_many_threads(det, head):
    img = screen_replay(head, 1)
    want = det.score(img, BOX)
    got: list[float] = []
    threads = [threading.Thread(target=lambda: got.append(det.score(img, BOX))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 8


def test_load_refuses_an_artefact_for_other_features(tmp_path):
    art = {"version": "x", "features": ["moire"], "mean": [0], "scale": [1], "weights": [1], "bias": 0,
           "limit": 0.5, "provenance": {}}
    p = tmp_path / "pad.json"
    p.write_text(json.dumps(art))
    with pytest.raises(ValueError):
        RecaptureDetector.load(p)


def test_recapture_simulation_keeps_the_size(head):
    for make in (screen_replay, print_attack):
        out = make(head, 0)
        assert out.shape == head.shape and out.dtype == np.uint8
        assert not np.array_equal(out, make(head, 1))
        assert np.array_equal(out, make(head, 0))


def test_the_fit_keeps_physics_signs_and_leaves_free_weights_free():
    """``facematch.fit.pad.fit``: a physics feature whose direction disagrees with its sign gets weight 0, a
    ``FREE`` one takes the sign the data gives it, a 0 one stays out."""
    from facematch.fit.pad import FREE, fit

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200).astype(float)
    against = -(y - 0.5) + rng.normal(0, 0.5, 400)  # lower on attacks
    x = np.stack([against, against, against], axis=1)
    _, _, beta, _ = fit(x, y, np.ones(400), np.array([1.0, FREE, 0.0]))
    assert beta[0] == 0.0 and beta[1] < -0.1 and beta[2] == 0.0
