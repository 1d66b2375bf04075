"""The plumbing of the models over the network's activations, without the network: the pooling around
template points (``sunglasses.region_features``), the artefacts' schema (``artifacts.sunglasses``) and when the
sunglasses model decides (``occlusion.sunglasses_by_model``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts import ArtifactError
from facematch.artifacts.sunglasses import SunglassesModel, region_features
from facematch.checks.occlusion import OcclusionLimits, sunglasses_by_model

EYES = ((38.2946, 51.6963), (73.5318, 51.5014))


def doc(**change) -> dict:
    d = {"schema": "facematch-sunglasses/1", "version": "t", "embedder": "net", "tap": "t10", "tap_shape": [2, 14, 14],
         "chip": 112, "points": [list(e) for e in EYES], "reach": 8.0, "mean": [0.0] * 4, "scale": [1.0] * 4,
         "weights": [1.0, 0.0, 0.0, 0.0], "bias": 0.0, "threshold": 0.5, "provenance": {}}
    return d | change


def test_each_channel_is_averaged_over_the_cells_around_each_eye():
    tap = np.zeros((2, 14, 14), np.float32)
    tap[0, 5:8, 3:6] = 1.0  # the 3 x 3 cells within 8 px of the left eye (4.8, 6.5 in cells)
    tap[1, 5:8, 8:11] = 2.0  # those of the right eye (9.2, 6.4)
    f = region_features(tap, EYES, 8.0, 112)
    assert f.shape == (4,)
    assert f.tolist() == [1.0, 0.0, 0.0, 2.0]  # channel 0 and 1 at the left eye, then at the right eye
    tap[0, 4, 3] = 9.0  # a cell just outside the reach changes nothing
    assert region_features(tap, EYES, 8.0, 112).tolist() == [1.0, 0.0, 0.0, 2.0]


def test_the_artefact_is_refused_when_its_parts_disagree():
    assert artifacts.parse(SunglassesModel, json.dumps(doc())).tap_shape == (2, 14, 14)
    for bad in ({"tap_shape": [2, 14]}, {"points": [[1.0, 2.0]]}, {"points": [[1.0]]}, {"reach": 0},
                {"weights": [1.0, 0.0]}, {"scale": [1.0, 0.0, 1.0, 1.0]}):
        with pytest.raises(ArtifactError):
            artifacts.parse(SunglassesModel, json.dumps(doc(**bad)))


def test_the_model_decides_only_for_its_own_network_and_tensor():
    model = artifacts.parse(SunglassesModel, json.dumps(doc()))
    tap = np.zeros((2, 14, 14), np.float32)
    tap[0, 5:8, 3:6] = 2.0  # score 2 - 0.5 over the threshold
    on = OcclusionLimits()
    found = sunglasses_by_model({"t10": tap}, "net", "img2", on, model)
    assert found is not None and [(int(f.code), f.value, f.limit) for f in found] == [(7, 1.5, 0.0)]
    assert sunglasses_by_model({"t10": tap * 0}, "net", "img2", on, model) == []  # below: judged, nothing found
    assert sunglasses_by_model({"t10": tap}, "other", "img2", on, model) is None  # another network: the rule
    assert sunglasses_by_model({}, "net", "img2", on, model) is None
    assert sunglasses_by_model({"t10": tap[:, :7]}, "net", "img2", on, model) is None
    assert sunglasses_by_model(None, "net", "img2", on, model) is None
    assert sunglasses_by_model({"t10": tap}, "net", "img2", OcclusionLimits(embedding_models=False), model) is None


def test_views_of_the_tensor_are_averaged():
    """``embed_tapped`` stacks the chip's own run and its mirror image's: the score is their mean."""
    model = artifacts.parse(SunglassesModel, json.dumps(doc()))
    tap = np.zeros((2, 14, 14), np.float32)
    tap[0, 5:8, 3:6] = 2.0  # one view reads 2 - 0.5, the other -0.5: the mean 0.5 over the threshold
    both = np.stack([tap, tap * 0])
    assert model.reads("net", {"t10": both}) and model.score({"t10": both}) == pytest.approx(0.5)
    assert model.score({"t10": both[:1]}) == pytest.approx(1.5) == model.score({"t10": tap})
    assert not model.reads("net", {"t10": both[:, :, :7]}) and not model.reads("net", {"t10": both[None]})
