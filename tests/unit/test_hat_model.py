"""The packaged hat model (``facematch/data/hat-v3.json``): it loads, matches
the features the check computes, records what it was fitted on, and refuses
an artefact whose features do not match."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from facematch.checks.occlusion import (
    HAT_GRID,
    HAT_MEASURES,
    FaceView,
    hat_feature_count,
    hat_features,
    hat_grid,
    hat_model,
    load_hat_model,
)


def _artefact() -> dict:
    return dict(json.loads(resources.files("facematch.data").joinpath("hat-v3.json").read_text()))


def test_the_packaged_model_loads_once_with_its_provenance():
    model = hat_model()
    assert model is hat_model()
    assert len(model.logistic.weights) == hat_feature_count() == len(HAT_MEASURES) + 1008
    assert np.all(model.logistic.scale > 0) and np.isfinite(model.logistic.weights).all()
    assert "lfw_hats.txt" in str(model.provenance["fitted_on"])
    assert set(model.provenance["cross_validation_by_person"]) == {"image", "with_embedding"}
    for held in model.provenance["held_out_lfw_people"].values():
        assert held["positives"] > 0 and held["negatives"] > 0
    assert model.embedder == "sface-2021dec" and model.dim == 128
    assert len(model.with_embedding.weights) == hat_feature_count() + model.dim


def test_the_embedding_model_decides_only_for_its_own_network():
    """With the face's embedding from the network the model names, the model
    with the embedding scores; without one, from another network or of
    another size, the image model alone (its own threshold)."""
    model = hat_model()
    x = model.logistic.mean.copy()
    e = model.with_embedding.mean[hat_feature_count():].copy()
    image = model.score(x)
    assert image == pytest.approx(model.logistic.bias - model.logistic.threshold)
    assert model.score(x, e, "dlib-resnet-v1") == image
    assert model.score(x, e[:10], model.embedder) == image
    assert model.score(x, None, model.embedder) == image
    both = model.score(x, e, model.embedder)
    assert both == pytest.approx(model.with_embedding.bias - model.with_embedding.threshold)
    assert model.reads(e, model.embedder) and not model.reads(None, model.embedder)


def test_hat_grid_averages_each_cell_row_by_row():
    cols, rows = HAT_GRID
    cells = np.arange(cols * rows, dtype=np.float32).reshape(rows, cols)
    a = np.kron(cells, np.ones((5, 7), np.float32))  # each cell 5 x 7 pixels of one value
    assert hat_grid(a) == [float(v) for v in cells.ravel()]


@pytest.mark.parametrize("key, value", [("measures", ["brim_edge"]), ("window", [0, 1, 0, 1]),
                                        ("weights", [0.0]), ("with_embedding", {"weights": [0.0]}),
                                        ("dim", 0)])
def test_a_mismatched_artefact_is_refused(tmp_path, key, value):
    art = _artefact()
    art[key] = {**art[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "hat.json"
    path.write_text(json.dumps(art))
    with pytest.raises(ValueError, match="hat artefact"):
        load_hat_model(path)


def test_features_of_a_generated_face_are_finite():
    """A drawn face (skin ellipse, dark eyes and mouth) in the canonical frame:
    every feature is finite and the score is a number."""
    rgb = np.full((400, 400, 3), (90, 120, 160), np.uint8)
    import cv2

    cv2.ellipse(rgb, (200, 220), (90, 120), 0, 0, 360, (200, 160, 130), -1)
    for x in (165, 235):
        cv2.circle(rgb, (x, 200), 8, (40, 30, 30), -1)
    cv2.ellipse(rgb, (200, 275), (22, 8), 0, 0, 360, (170, 80, 80), -1)
    points = np.zeros((468, 3), np.float32)
    for index, (x, y) in {33: (150, 200), 133: (180, 200), 263: (250, 200), 362: (220, 200),
                          0: (200, 268), 17: (200, 282), 61: (178, 275), 291: (222, 275)}.items():
        points[index, :2] = (x, y)
    x = hat_features(FaceView.from_points(rgb, points))
    assert x.shape == (hat_feature_count(),) and np.isfinite(x).all()
    assert np.isfinite(hat_model().score(x))


def test_a_head_cut_by_the_frame_asks_a_stricter_score_by_how_much_is_cut():
    from facematch.checks.occlusion import OcclusionLimits, hat_limit

    limits = OcclusionLimits()
    assert hat_limit(0.0, limits) == hat_limit(limits.hat_max_outside, limits) == limits.hat_min_score
    assert hat_limit(0.6, limits) == limits.hat_cut_min_score_70
    assert hat_limit(0.8, limits) == limits.hat_cut_min_score_90
    assert hat_limit(0.96, limits) == hat_limit(1.0, limits) == limits.hat_cut_min_score_100
    assert limits.hat_min_score < limits.hat_cut_min_score_70 < limits.hat_cut_min_score_90 \
        < limits.hat_cut_min_score_100


def test_a_turned_head_asks_at_least_the_limit_for_turned_heads_either_way():
    from facematch.checks.occlusion import OcclusionLimits, hat_limit

    limits = OcclusionLimits()
    assert limits.hat_min_score < limits.hat_turned_min_score
    for yaw in (-limits.hat_max_yaw, 0.0, limits.hat_max_yaw):
        assert hat_limit(0.0, limits, yaw) == limits.hat_min_score
    for yaw in (-limits.hat_max_yaw - 1, limits.hat_max_yaw + 1, 80.0):
        assert hat_limit(0.0, limits, yaw) == limits.hat_turned_min_score
        # a head both turned and cut by the frame: the stricter of the two limits
        assert hat_limit(0.6, limits, yaw) == max(limits.hat_turned_min_score, limits.hat_cut_min_score_70)
        assert hat_limit(1.0, limits, yaw) == limits.hat_cut_min_score_100


def test_head_yaw_is_the_turn_of_the_outline_beside_the_eyes_out_of_the_image_plane():
    from facematch.checks.occlusion import CHEEK_EDGES, head_yaw

    points = np.zeros((468, 3))
    a, b = CHEEK_EDGES
    points[a], points[b] = (100.0, 200.0, 0.0), (300.0, 200.0, 0.0)
    assert head_yaw(points) == 0.0
    for turn in (-60.0, -20.0, 35.0):
        turned = points.copy()
        turned[b, 2] = 200.0 * np.tan(np.radians(turn))
        assert head_yaw(turned) == pytest.approx(turn)
    assert head_yaw(points[:, :2]) == 0.0  # no depth: taken as facing the camera
