"""The mask model (``facematch/data/occlusion-v1.json``,
``occlusion.model_scores``): a mask the rule finds is confirmed by a logistic
model over the face's embedding and the rule measures. On the astronaut
(scikit-image, public domain) with masks drawn over her face; and the
fallback to the rule alone when the embedder is not the one the model was
fitted for."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks.occlusion import FaceView, OcclusionLimits, model_scores, occlusion_model
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from tests.support.images import face_context
from tools.synth import occluders

pytestmark = pytest.mark.models

RULE_ONLY = CheckLimits(occlusion=OcclusionLimits(embedding_models=False))


def _context(bundle, rgb: np.ndarray, embedder: str | None = None) -> FaceContext:
    return face_context(bundle, rgb, embedder)


def _model_scores(ctx: FaceContext) -> dict[str, float] | None:
    assert ctx.face is not None
    points = ctx.face.mesh.points
    return model_scores(FaceView.from_points(ctx.rgb, points), points, ctx.embedding, ctx.embedder, OcclusionLimits())


def _codes(ctx: FaceContext, limits: CheckLimits | None = None) -> set[int]:
    return {int(f.code) for f in run_checks(ctx, limits or CheckLimits())}


@pytest.fixture(scope="module")
def mesh(bundle, astronaut) -> np.ndarray:
    return bundle.detector.detect(astronaut)[0].mesh.points


def test_the_model_is_for_the_default_embedder(bundle):
    model = occlusion_model()
    assert model.embedder == bundle.embedder.name == "sface-2021dec" and model.dim == 128
    assert "mask" in model.models and "no real mask photo" in model.provenance["fitted_on"]


def test_the_clean_face_scores_below_the_threshold(bundle, astronaut):
    scores = _model_scores(_context(bundle, astronaut))
    assert scores is not None and scores["mask"] < 0
    assert 9 not in _codes(_context(bundle, astronaut))


@pytest.mark.parametrize("colour", [(236, 238, 240), (150, 192, 222), (34, 34, 38)])
def test_drawn_masks_are_confirmed(bundle, astronaut, mesh, colour):
    """White, light blue and black masks: the rule finds them, the model confirms them."""
    ctx = _context(bundle, occluders.draw_mask(astronaut, mesh, 2, colour=colour))
    scores = _model_scores(ctx)
    assert scores is not None and scores["mask"] > 0
    assert 9 in _codes(ctx) and 9 in _codes(ctx, RULE_ONLY)


@pytest.mark.parametrize("seed", [10_000, pytest.param(10_001, marks=pytest.mark.xfail(strict=True, reason=(
    "known miss of the rule: a dark floral mask whose pink flowers read as skin, 0.21 of the lower face "
    "skin-coloured against the rule's 0.2"))), 10_002])
def test_varied_drawn_masks_are_found(bundle, astronaut, mesh, seed):
    """Masks of other shapes, colours and patterns (``draw_mask_varied``; the fit drew with other seeds on other
    faces)."""
    assert 9 in _codes(_context(bundle, occluders.draw_mask_varied(astronaut, mesh, seed)))


def test_another_embedder_falls_back_to_the_rule(bundle, astronaut, mesh):
    """Another network's embedding means nothing to the model: no scores, and
    the checks give exactly what the rule gives with the model switched off."""
    other = _context(bundle, occluders.draw_mask(astronaut, mesh, 2, colour=(150, 192, 222)), "dlib-resnet-v1")
    assert _model_scores(other) is None
    assert _codes(other) == _codes(other, RULE_ONLY) and 9 in _codes(other)
    found = {f.code: f for f in run_checks(other, CheckLimits())}
    assert found[9].limit == OcclusionLimits().mask_max_skin  # the rule's finding


def test_the_finding_carries_the_model_score(bundle, astronaut, mesh):
    ctx = _context(bundle, occluders.draw_mask(astronaut, mesh, 2, colour=(236, 238, 240)))
    found = {f.code: f for f in run_checks(ctx, CheckLimits())}
    scores = _model_scores(ctx)
    assert scores is not None and found[9].value == pytest.approx(scores["mask"]) and found[9].limit == 0.0
