"""Fitted artefacts: one loader, one schema a kind, packaged files pinned by sha256."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts import ArtifactError, Source
from facematch.artifacts.adaptation import Adaptation
from facematch.artifacts.calibration import Calibration
from facematch.artifacts.hat import HatModel
from facematch.artifacts.occlusion import OcclusionModel
from facematch.artifacts.pad import PadModel

KINDS = (Calibration, Adaptation, PadModel, HatModel, OcclusionModel)


def test_every_packaged_document_is_pinned_and_loads():
    data = resources.files("facematch.data")
    shipped = sorted(p.name for p in data.iterdir() if p.name.endswith(".json"))
    assert shipped == sorted(artifacts.PACKAGED)
    for name, digest in artifacts.PACKAGED.items():
        assert hashlib.sha256(data.joinpath(name).read_bytes()).hexdigest() == digest
    for version in artifacts.packaged_names("calibration"):
        cal = artifacts.load(Calibration, version=version)
        assert cal.version == version and cal.source is not None and cal.source.packaged
        assert {"model", "data", "command"} <= set(cal.provenance)
    assert artifacts.load(HatModel, version="v3").provenance["fitted_on"]
    occl = artifacts.load(OcclusionModel, version="v1")
    assert occl.embedder == "sface-2021dec" and set(occl.models) == {"mask"}
    assert occl.source is not None and occl.source.packaged and occl.provenance["fitted_on"]
    pad = artifacts.load(PadModel, version="v1")
    assert pad.limit > 0 and {"fitted_on", "not_fitted_on", "command"} <= set(pad.provenance)


def test_a_packaged_document_that_does_not_match_its_pin_is_refused(monkeypatch):
    monkeypatch.setitem(artifacts.PACKAGED, "pad-v1.json", "0" * 64)
    with pytest.raises(ArtifactError, match="sha256"):
        artifacts.load(PadModel, version="v1")


def test_unknown_packaged_version_names_the_choices():
    with pytest.raises(ArtifactError, match="sface-v1"):
        artifacts.load(Calibration, version="nope")


def test_exactly_one_of_version_and_path():
    with pytest.raises(TypeError):
        artifacts.load(Calibration)
    with pytest.raises(TypeError):
        artifacts.load(Calibration, version="sface-v1", path="x.json")


@pytest.mark.parametrize("cls", KINDS)
def test_a_document_of_another_kind_is_refused(tmp_path, cls):
    other = {Calibration: "facematch-pad/1", Adaptation: "facematch-calibration/1", PadModel: "facematch-adaptation/1",
             HatModel: "facematch-pad/1", OcclusionModel: "facematch-hat/1"}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"schema": other[cls], "version": "x"}))
    with pytest.raises(ArtifactError, match="schema"):
        artifacts.load(cls, path=path)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"not json", b"[1, 2]"])
def test_garbage_is_a_clear_error(tmp_path, raw):
    path = tmp_path / "doc.json"
    path.write_bytes(raw)
    with pytest.raises(ArtifactError):
        artifacts.load(Calibration, path=path)


def test_a_calibration_written_before_schemas_still_loads_and_records_its_digest(tmp_path):
    doc = {"version": "bank-1", "model": "m", "embedder": "sface-2021dec", "knots": [[0, 100], [0.9, 75], [2, 0]]}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(doc))
    cal = artifacts.load(Calibration, path=path)
    assert cal.version == "bank-1" and cal.percent(0.9) == pytest.approx(75)
    assert cal.source == Source(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), False)


def test_a_broken_document_names_what_is_wrong(tmp_path):
    path = tmp_path / "pad.json"
    good = artifacts.load(PadModel, version="v1").to_doc()
    path.write_text(json.dumps({**good, "scale": good["scale"][:-1]}))
    with pytest.raises(ArtifactError, match="pad artefact"):
        artifacts.load(PadModel, path=path)
    del good["bias"]
    path.write_text(json.dumps(good))
    with pytest.raises(ArtifactError, match="bias"):
        artifacts.load(PadModel, path=path)


def test_the_pad_model_round_trips(tmp_path):
    model = artifacts.load(PadModel, version="v1")
    path = tmp_path / "pad.json"
    path.write_text(json.dumps(model.to_doc()))
    again = artifacts.load(PadModel, path=path)
    assert again == model and np.allclose(again.weights, model.weights)


def test_an_occlusion_document_with_weights_of_the_wrong_size_is_refused(tmp_path):
    doc = json.loads(resources.files("facematch.data").joinpath("occlusion-v1.json").read_text())
    doc["models"]["mask"]["weights"] = doc["models"]["mask"]["weights"][:-1]
    path = tmp_path / "occlusion.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="finite weights"):
        artifacts.load(OcclusionModel, path=path)
