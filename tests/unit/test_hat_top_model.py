"""The hat model over SFace's activations at the top of its chip (``facematch/data/hattop-v1.json``,
``artifacts.hat.HatTopModel``), without the network: the pooling over the chip's top (``hat.box_features``),
the artefact's schema, and when the hat check adds it to ``hat-v3`` (``occlusion.hat``)."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts import ArtifactError
from facematch.artifacts.hat import HatTopModel, box_features
from facematch.checks import occlusion
from facematch.checks.occlusion import OcclusionLimits, hat, hat_feature_count, hat_model, hat_top_model

TOP = (16.0, 96.0, 0.0, 16.0)  # chip pixels: the top two rows of 8-px cells, columns 2-11


def doc(**change) -> dict:
    d = {"schema": "facematch-hattop/1", "version": "t", "base": "hat-v3", "embedder": "sface-2021dec",
         "tap": "t10", "tap_shape": [2, 14, 14], "chip": 112, "box": list(TOP), "mean": [0.0, 0.0],
         "scale": [1.0, 1.0], "weights": [1.0, 0.0], "bias": 0.0, "threshold": 0.5, "provenance": {}}
    return d | change


def test_each_channel_is_averaged_over_the_top_of_the_chip():
    tap = np.zeros((2, 14, 14), np.float32)
    tap[0, 0:2, 2:12] = 1.0
    tap[1, 0:2, 2:12] = 3.0
    assert box_features(tap, TOP, 112).tolist() == [1.0, 3.0]
    tap[0, 2, 5] = tap[1, 0, 1] = tap[1, 1, 12] = 9.0  # the cells just below, left and right of the box
    assert box_features(tap, TOP, 112).tolist() == [1.0, 3.0]
    assert box_features(tap, (0.0, 1.0, 0.0, 1.0), 112).tolist() == [0.0, 0.0]  # at least one cell


def test_the_artefact_is_refused_when_its_parts_disagree():
    assert artifacts.parse(HatTopModel, json.dumps(doc())).box == TOP
    for bad in ({"schema": "facematch-sunglasses/1"}, {"tap_shape": [2, 14]}, {"box": [16, 96, 0]},
                {"box": [16, 120, 0, 16]}, {"box": [96, 16, 0, 16]}, {"chip": 0}, {"weights": [1.0]},
                {"scale": [1.0, 0.0]}, {"weights": [1.0, float("nan")]}):
        with pytest.raises(ArtifactError):
            artifacts.parse(HatTopModel, json.dumps(doc(**bad)))


@pytest.mark.parametrize("change", [{"base": "hat-v2"}, {"embedder": "dlib-resnet-v1"}])
def test_an_artefact_for_another_hat_model_or_network_is_refused(tmp_path, change):
    path = tmp_path / "hattop.json"
    path.write_text(json.dumps(doc(**change)))
    with pytest.raises(ValueError, match="hattop artefact"):
        occlusion.load_hat_top_model(path)


def test_the_packaged_model_reads_sfaces_tensor_and_records_its_fit():
    from facematch.models.sface import EYE_TAP, EYE_TAP_SHAPE

    model = hat_top_model()
    assert model is hat_top_model() and model.source is not None and model.source.packaged
    assert model.base == hat_model().version and model.embedder == hat_model().embedder == "sface-2021dec"
    assert model.tap == EYE_TAP and model.tap_shape == EYE_TAP_SHAPE and model.box == TOP
    assert len(model.logistic.weights) == EYE_TAP_SHAPE[0] and np.isfinite(model.logistic.weights).all()
    assert "lfw_hats.txt" in model.provenance["fitted_on"]
    per_source = model.provenance["per_source_thresholds"]
    assert set(per_source) == {"lfw", "casia_v5", "p101jp_s2"}
    assert model.logistic.threshold == max(per_source.values())  # the strictest source's
    held = model.provenance["held_out_lfw_people"]["hat-v3 + top of the chip"]
    assert held["positives"] > 0 and held["negatives"] > 0


def _both(view: occlusion.FaceView) -> tuple[np.ndarray, np.ndarray]:
    """The image features of the view and of its mirror image: the check averages their scores."""
    return occlusion.hat_features(view), occlusion.hat_features(view.mirrored())


def _drawn_face(top: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A drawn face (skin ellipse, dark eyes and mouth) and mesh points at the indices the face view reads;
    with ``top``, the image cut across ``top`` px from its top (the head top then lies outside it)."""
    rgb = np.full((400, 400, 3), (90, 120, 160), np.uint8)
    cv2.ellipse(rgb, (200, 220), (90, 120), 0, 0, 360, (200, 160, 130), -1)
    for x in (165, 235):
        cv2.circle(rgb, (x, 200), 8, (40, 30, 30), -1)
    cv2.ellipse(rgb, (200, 275), (22, 8), 0, 0, 360, (170, 80, 80), -1)
    points = np.zeros((468, 3), np.float32)
    for index, (x, y) in {33: (150, 200), 133: (180, 200), 263: (250, 200), 362: (220, 200),
                          0: (200, 268), 17: (200, 282), 61: (178, 275), 291: (222, 275)}.items():
        points[index, :2] = (x, y - top)
    return np.ascontiguousarray(rgb[top:]), points


def test_the_check_adds_it_only_for_a_head_neither_cut_nor_turned_with_the_networks_tensor(monkeypatch):
    """With the tensor the artefact reads, from the network hat-v3's embedding comes from, on a head neither
    cut by the frame nor turned: hat-v3's log-odds with the embedding plus this model's, less its threshold.
    Anything else (no tensor, another tensor or shape, another network, the embedding models off, a turned
    or cut head): exactly hat-v3's score."""
    base = hat_model()
    top = artifacts.parse(HatTopModel, json.dumps(doc()))
    monkeypatch.setattr(occlusion, "hat_top_model", lambda: top)
    tap = np.zeros((2, 14, 14), np.float32)
    tap[0, 0:2, 2:12] = 5.0  # this model's log-odds: 5
    taps = {"t10": tap}
    embedding = base.with_embedding.mean[hat_feature_count():].copy()
    # Every limit out of the way: a finding whatever the score, so that its value shows the score.
    always = replace(OcclusionLimits(), hat_min_score=-1e9, hat_turned_min_score=-1e9, hat_cut_min_score_70=-1e9,
                     hat_cut_min_score_90=-1e9, hat_cut_min_score_100=-1e9)

    def value(rgb: np.ndarray, points: np.ndarray, tapped: dict | None, embedder: str = base.embedder,
              limits: OcclusionLimits = always, yaw: float = 0.0) -> float:
        view = occlusion.FaceView.from_points(rgb, points)
        found = hat(view, rgb.shape, "img2", limits, embedding, embedder, yaw, tapped)
        assert len(found) == 1 and found[0].value is not None
        return found[0].value

    rgb, points = _drawn_face()
    both = _both(occlusion.FaceView.from_points(rgb, points))
    v3 = sum(base.score(x, embedding, base.embedder) for x in both) / 2
    image_alone = sum(base.score(x) for x in both) / 2
    assert v3 != image_alone
    assert value(rgb, points, taps) == pytest.approx(sum(base.log_odds(x, embedding) for x in both) / 2 + 5.0 - 0.5)
    assert value(rgb, points, taps) == pytest.approx(v3 + base.with_embedding.threshold + 4.5)
    assert value(rgb, points, None) == pytest.approx(v3)
    assert value(rgb, points, {}) == value(rgb, points, {"t9": tap}) == pytest.approx(v3)
    assert value(rgb, points, {"t10": tap[:, :7]}) == pytest.approx(v3)
    assert value(rgb, points, taps, "dlib-resnet-v1") == pytest.approx(image_alone)
    assert value(rgb, points, taps, limits=replace(always, embedding_models=False)) == pytest.approx(image_alone)
    for yaw in (-31.0, 45.0):
        assert value(rgb, points, taps, yaw=yaw) == pytest.approx(v3)
    assert value(rgb, points, taps, yaw=29.0) == pytest.approx(v3 + base.with_embedding.threshold + 4.5)
    cut, shifted = _drawn_face(top=125)
    view = occlusion.FaceView.from_points(cut, shifted)
    assert view.outside(occlusion.HEAD_TOP, cut.shape) > always.hat_max_outside
    assert value(cut, shifted, taps) == pytest.approx(sum(base.score(x, embedding, base.embedder)
                                                          for x in _both(view)) / 2)


def test_the_limit_reported_is_the_models_own_where_it_adds():
    """The sum is read against ``hat_min_score`` (its own threshold taken off): a strong reading warns, a
    weak one does not, on the same face."""
    base = hat_model()
    top = hat_top_model()
    rgb, points = _drawn_face()
    view = occlusion.FaceView.from_points(rgb, points)
    embedding = base.with_embedding.mean[hat_feature_count():].copy()
    tap = np.zeros(top.tap_shape, np.float32)
    features = box_features(tap, top.box, top.chip)
    assert features.shape == (top.tap_shape[0],)
    # Each channel of the box pushed 6 standard deviations in the direction of its weight, or against it.
    for sign, warns in ((1.0, True), (-1.0, False)):
        shift = sign * 6.0 * top.logistic.scale * np.sign(top.logistic.weights)
        tap[:] = (top.logistic.mean + shift)[:, None, None]
        found = hat(view, rgb.shape, "img2", OcclusionLimits(), embedding, base.embedder, 0.0, {top.tap: tap})
        assert bool(found) is warns
        if found:
            assert found[0].limit == OcclusionLimits().hat_min_score and found[0].value is not None
            log_odds = sum(base.log_odds(x, embedding) for x in _both(view)) / 2
            assert found[0].value == pytest.approx(top.score(log_odds, {top.tap: tap}))
