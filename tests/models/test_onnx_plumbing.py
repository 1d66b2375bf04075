"""A licensed ONNX network plugged in by settings alone: the registry builds
it; the eval harness fits a calibration for it; the matcher and the API's
envelope work for it unchanged, and refuse a calibration fitted for another
network. The network is a small one the test builds itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facematch.contract import envelope
from facematch.matcher import build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tests.conftest import jpeg
from tests.models.test_onnx_embedder import conv_net

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return conv_net(tmp_path_factory.mktemp("net"), dim=64)


def settings(net, **match) -> Settings:
    return Settings(models={"embedder": "onnx", "onnx": {"path": str(net), "alignment": "arcface112", "size": 112}},
                    match=match, workers=1)


def test_a_calibration_of_another_network_is_refused(net):
    with pytest.raises(ValueError, match="fitted for the embedder 'sface-2021dec'"):
        build_matcher(settings(net))
    with pytest.raises(ValueError, match="fitted for the embedder 'dlib-resnet-v1'"):
        build_matcher(settings(net, calibration="asia-v2"))


def test_fit_a_calibration_with_the_harness_then_match(net, tmp_path, astronaut, astronaut_selfie, cameraman):
    from facematch.eval import harness

    root = tmp_path / "set"
    people = {"a": [astronaut, astronaut_selfie, astronaut[:, ::-1]], "b": [cameraman, cameraman[::-1]]}
    for person, images in people.items():
        (root / person).mkdir(parents=True)
        for i, img in enumerate(images):
            (root / person / f"{i}.jpg").write_bytes(jpeg(np.ascontiguousarray(img)))
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("a/0.jpg a/1.jpg 1\na/0.jpg a/2.jpg 1\na/0.jpg b/0.jpg 0\na/1.jpg b/1.jpg 0\n")
    out, cal = tmp_path / "out", tmp_path / "onnx-test.json"
    doc = harness.run(settings(net), pairs, root, out, workers=1, fit_calibration=cal)
    assert doc["pairs"] == 4 and (out / "report.md").exists()
    fitted = json.loads(cal.read_text())
    assert fitted["version"] == "onnx-test" and fitted["embedder"] == "onnx" and fitted["model"].startswith("onnx")

    m = build_matcher(settings(net, calibration_file=str(cal)))
    try:
        result = m.match(jpeg(astronaut), jpeg(astronaut_selfie), ImageKind.PORTRAIT)
    finally:
        m.close()
    assert result.image1.face is not None and result.image1.face.embedding.shape == (64,)
    assert abs(float(np.linalg.norm(result.image1.face.embedding)) - 1) < 1e-5
    body = json.loads(envelope.success(result, "t").to_json())  # as sent
    assert body["errorCode"] == "0" and body["data"]["calibration"] == "onnx-test"
