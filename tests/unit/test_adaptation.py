"""The embedding adaptation on synthetic embeddings with a known class structure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts.adaptation import Adaptation
from facematch.fit import adaptation as ad
from facematch.fit import population as pop

DIMS = 16


def population(people: int = 30, per: int = 5, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors whose within-person spread lies mostly along a few
    nuisance directions (like lighting), as for a network trained elsewhere."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, DIMS)) * 0.25
    nuisance = rng.normal(size=(3, DIMS))
    x, labels = [], []
    for p in range(people):
        for _ in range(per):
            v = centres[p] + rng.normal(size=3) @ nuisance * 0.3 + rng.normal(size=DIMS) * 0.03
            x.append(v + 1.0)
            labels.append(f"p{p:03d}")
    x_arr = np.array(x)
    return x_arr / np.linalg.norm(x_arr, axis=1, keepdims=True), labels


def within_between(x: np.ndarray, labels: list[str]) -> float:
    lab = np.array(labels)
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    same = lab[:, None] == lab[None]
    off = ~np.eye(len(x), dtype=bool)
    return float(d[same & off].mean() / d[~same].mean())


def test_transform_brings_a_persons_images_closer_relative_to_others() -> None:
    x, labels = population()
    a = ad.fit(x, labels, shrinkage=0.25)
    y = a.apply(x)
    assert np.allclose(np.linalg.norm(y, axis=1), 1.0)
    assert within_between(y, labels) < 0.7 * within_between(x, labels)
    # ... and on people it has not seen.
    x2, labels2 = population(seed=1)
    assert within_between(a.apply(x2), labels2) < within_between(x2, labels2)


def test_lda_keeps_the_requested_dimensions() -> None:
    x, labels = population()
    a = ad.fit(x, labels, lda_dims=5)
    assert a.dims_in == DIMS and a.dims_out == 5
    assert a.apply(x).shape == (len(x), 5)
    with pytest.raises(ValueError):
        ad.fit(x, labels, lda_dims=30)  # at most people - 1


def test_round_trip_through_json(tmp_path: Path) -> None:
    x, labels = population()
    a = ad.fit(x, labels, version="bank-2026-01", provenance={"model": "m", "data": "d", "command": "c"})
    a.save(tmp_path / "adaptation.json")
    b = artifacts.load(Adaptation, path=tmp_path / "adaptation.json")
    assert b.version == "bank-2026-01" and b.provenance["model"] == "m"
    assert b.provenance["fitted_on"]["people"] == 30
    assert np.allclose(a.apply(x), b.apply(x), atol=1e-7)
    doc = json.loads((tmp_path / "adaptation.json").read_text())
    assert doc["schema"] == Adaptation.SCHEMA and doc["dims"] == {"in": DIMS, "out": DIMS}


def test_refuses_mismatched_dims_and_bad_files(tmp_path: Path) -> None:
    x, labels = population()
    a = ad.fit(x, labels)
    with pytest.raises(ValueError, match="16-D"):
        a.apply(np.ones((2, DIMS + 1)))
    with pytest.raises(ValueError):
        a.check_dims(128)
    doc = a.to_doc()
    doc["dims"]["in"] = 128
    with pytest.raises(ValueError):
        Adaptation.from_doc(doc)
    with pytest.raises(ValueError, match="schema"):
        Adaptation.from_doc({"version": "x"})


def test_single_image_people_and_missing_faces() -> None:
    x, labels = population(people=10, per=3)
    x = np.vstack([x, np.full((1, DIMS), np.nan), np.ones((1, DIMS)) / 4])
    labels = labels + ["p_missing", "p_single"]
    a = ad.fit(x, labels)
    assert a.provenance["fitted_on"]["images_ignored"] == 1
    assert a.provenance["fitted_on"]["people_with_one_image"] == 1
    y = a.apply(x)
    assert np.isnan(y[-2]).all() and np.isfinite(y[-1]).all()
    assert a.apply(x[0]).shape == (DIMS,)
    with pytest.raises(ValueError, match="two usable images"):
        ad.fit(x[:3:2], ["a", "b"])


def test_held_out_gain_and_refitted_calibration() -> None:
    x, labels = population(people=40, per=5)
    rows = [(lab, f"{lab}/{i}", pop.PHOTO, v) for i, (lab, v) in enumerate(zip(labels, x, strict=True))]
    s = pop.Samples.build(rows, DIMS)
    base = pop.held_out(s, k=5, pair_types=["photo-photo"])
    adapted = pop.held_out(s, k=5, pair_types=["photo-photo"], transform_fit=ad.transform_fit(0.25), calibrate_inner=4)
    b, a = base["pooled"]["photo-photo"], adapted["pooled"]["photo-photo"]
    assert a["tar_at_far_1e-2_pooled"] > b["tar_at_far_1e-2_pooled"]
    cal = ad.fit_calibration(s, shrinkage=0.25, model="m", data="d", command="c", version="v-cal")
    d75, d65 = cal["knots"][1][0], cal["knots"][2][0]
    assert 0 < d75 < d65 < 2 and cal["knots"][1][1] == 75.0
    with pytest.raises(ValueError):
        pop.held_out(s, k=5, pair_types=["photo-photo"], transform_fit=ad.transform_fit(0.25))  # no inner folds


def test_adapt_main_writes_both_artefacts(tmp_path: Path) -> None:
    x, labels = population(people=20, per=4)
    root = tmp_path / "people"
    vec: dict[str, np.ndarray] = {}
    for i, (lab, v) in enumerate(zip(labels, x, strict=True)):
        name = "card.jpg" if i % 4 == 0 else f"{i}.jpg"
        p = root / lab / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")  # the embedding below is looked up by path
        vec[str(p)] = v
    kinds: list[str] = []

    def embed(paths: list[str], kind: str) -> dict[str, np.ndarray | None]:
        kinds.append(kind)
        return {p: vec[p] for p in paths}

    out = tmp_path / "out"
    summary = ad.adapt_main(root, out, embed, command="facematch adapt people", folds=5)
    assert sorted(kinds) == ["card", "portrait"]
    a = artifacts.load(Adaptation, path=out / "adaptation.json")
    assert a.provenance["command"] == "facematch adapt people"
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["adaptation"]["version"] == a.version
    assert summary["people"] == 20 and summary["held_out"] is not None
    from facematch.artifacts.calibration import Calibration

    assert artifacts.load(Calibration, path=out / "calibration.json").version == f"{a.version}-cal"
