"""``facematch adapt`` on a folder of people, then the service loads what it
wrote by setting, and refuses an adaptation without its calibration. The
people are generated from the two scikit-image portraits."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facematch.matcher import build_matcher
from facematch.settings import Settings
from facematch.types import ImageKind
from tests.conftest import jpeg

pytestmark = pytest.mark.models


def variants(rgb: np.ndarray, n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((rgb.shape[1] / 2, rgb.shape[0] / 2), 4 * i - 6, 1.0 - 0.04 * i)
        img = cv2.warpAffine(rgb, m, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(img.astype(np.int16) + 8 * i - 12, 0, 255).astype(np.uint8))
    return out


def test_adapt_refuses_too_few_people_clearly(tmp_path, astronaut, cameraman):
    """The real command, real models: two people cannot be cross-fitted."""
    for name, face in (("a", astronaut), ("b", cameraman)):
        (tmp_path / "people" / name).mkdir(parents=True)
        for i, img in enumerate(variants(face, 2)):
            (tmp_path / "people" / name / f"{i}.jpg").write_bytes(jpeg(img))
    r = subprocess.run([sys.executable, "-m", "facematch.cli", "adapt", str(tmp_path / "people"), "--out",
                        str(tmp_path / "out"), "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "needs at least 4" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    """``adapt_main`` as the command calls it, on 12 people whose 128-D
    embeddings are drawn around a centre each (files named, never read)."""
    from facematch.fit.adaptation import adapt_main

    root = tmp_path_factory.mktemp("people")
    rng = np.random.default_rng(0)
    vectors = {}
    for p in range(12):
        (root / f"p{p}").mkdir()
        centre = rng.normal(size=128)
        for i in range(5):
            path = root / f"p{p}" / f"{i}.jpg"
            path.write_bytes(b"")
            v = centre + 0.6 * rng.normal(size=128)
            vectors[str(path)] = (v / np.linalg.norm(v)).astype(np.float32)
    out = tmp_path_factory.mktemp("adapted")
    summary = adapt_main(root, out, lambda paths, kind: {p: vectors.get(p) for p in paths},
                         command="facematch adapt (test)", version="test-adapt")
    assert summary["people"] == 12 and summary["held_out"] is not None
    doc = json.loads((out / "calibration.json").read_text())
    doc["embedder"] = "sface-2021dec"  # as cmd_adapt records it (the default network)
    (out / "calibration.json").write_text(json.dumps(doc))
    return out


def test_adapt_writes_both_artefacts_with_provenance(adapted):
    adaptation = json.loads((adapted / "adaptation.json").read_text())
    calibration = json.loads((adapted / "calibration.json").read_text())
    assert adaptation["version"] == "test-adapt" and adaptation["dims"]["in"] == 128
    assert adaptation["command"].startswith("facematch adapt") and "12 people" in adaptation["data"]
    assert calibration["adaptation"]["version"] == "test-adapt" and calibration["embedder"] == "sface-2021dec"


def test_the_matcher_serves_the_adaptation_and_its_calibration(adapted, astronaut, astronaut_selfie, cameraman):
    settings = Settings(match={"adaptation_file": str(adapted / "adaptation.json"),
                               "calibration_file": str(adapted / "calibration.json")}, workers=1)
    m = build_matcher(settings)
    try:
        same = m.match(jpeg(astronaut), jpeg(astronaut_selfie), ImageKind.PORTRAIT)
        other = m.match(jpeg(astronaut), jpeg(cameraman), ImageKind.PORTRAIT)
    finally:
        m.close()
    assert same.calibration_version == "test-adapt-cal"
    assert abs(float(np.linalg.norm(same.image1.face.embedding)) - 1) < 1e-5
    assert same.distance < other.distance


def test_an_adaptation_without_its_calibration_is_refused(adapted):
    with pytest.raises(ValueError, match="adaptation"):
        build_matcher(Settings(match={"adaptation_file": str(adapted / "adaptation.json")}, workers=1))
    with pytest.raises(ValueError, match="adaptation"):
        build_matcher(Settings(match={"calibration_file": str(adapted / "calibration.json")}, workers=1))
