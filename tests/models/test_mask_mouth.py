"""The mouth model (``facematch/data/mask-mouth-v1.json``, ``occlusion.mask_by_mouth``): SFace's own
activations at the nose tip and the mouth centre, read from the embedding's run, find a mask that the rule
and ``occlusion-v1`` do not. On the astronaut (scikit-image, public domain) with masks drawn along her face
mesh; the fallbacks; and the mouth cut by the frame."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from facematch import artifacts
from facematch.artifacts.sunglasses import MaskMouthModel, SunglassesModel
from facematch.checks.occlusion import (
    OcclusionLimits,
    mask_by_mouth,
    mouth_model,
    mouth_outside,
    sunglasses_model,
)
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from tests.support.images import face_context
from tools.synth import occluders

pytestmark = pytest.mark.models

#: The mask rule can never fire (no lower face has under 0 % skin): only the mouth model can find a mask.
MOUTH_ONLY = CheckLimits(occlusion=OcclusionLimits(mask_max_skin=0.0))


def _context(bundle, rgb: np.ndarray, embedder: str | None = None) -> FaceContext:
    return face_context(bundle, rgb, embedder, taps=True)


def _masks(ctx: FaceContext, limits: CheckLimits | None = None):
    return [f for f in run_checks(ctx, limits or CheckLimits()) if int(f.code) == 9]


@pytest.fixture(scope="module")
def mesh(bundle, astronaut) -> np.ndarray:
    return bundle.detector.detect(astronaut)[0].mesh.points


def test_the_packaged_model_reads_sfaces_tensor_at_the_nose_and_mouth(bundle, astronaut):
    model = mouth_model()
    ctx = _context(bundle, astronaut)
    assert model.embedder == bundle.embedder.name and model.reads(ctx.embedder, ctx.taps)
    assert len(model.points) == 2 and model.points[0][1] < model.points[1][1]  # the nose above the mouth
    assert "draw_mask_varied" in model.provenance["fitted_on"]
    assert model.provenance["per_source_thresholds"]


def test_a_sunglasses_document_is_not_a_mouth_model():
    raw = artifacts._read_packaged("sunglasses-v1.json")[0]
    with pytest.raises(artifacts.ArtifactError, match="schema"):
        artifacts.parse(MaskMouthModel, raw)
    assert isinstance(sunglasses_model(), SunglassesModel) and not isinstance(sunglasses_model(), MaskMouthModel)


@pytest.mark.parametrize("seed", [3, 11, 42])
def test_drawn_masks_are_found_by_the_mouth_model_alone(bundle, astronaut, mesh, seed):
    ctx = _context(bundle, occluders.draw_mask_varied(astronaut, mesh, seed))
    found = _masks(ctx, MOUTH_ONLY)
    assert len(found) == 1 and found[0].limit == OcclusionLimits().mask_min_mouth_score
    assert found[0].value is not None and found[0].value > 0


def test_the_floral_mask_the_rule_misses_is_found(bundle, astronaut, mesh):
    """``draw_mask_varied`` seed 10001: pink flowers on a dark mask read as skin (0.21 of the lower face against
    the rule's 0.2; ``test_occlusion_embedding``). The mouth model reads no skin."""
    found = _masks(_context(bundle, occluders.draw_mask_varied(astronaut, mesh, 10_001)))
    assert len(found) == 1 and found[0].limit == OcclusionLimits().mask_min_mouth_score


def test_a_bare_face_is_judged_and_not_flagged(bundle, astronaut, mesh):
    ctx = _context(bundle, astronaut)
    assert mask_by_mouth(ctx.taps, ctx.embedder, mesh, astronaut.shape, "img2", OcclusionLimits()) == []
    assert _masks(ctx) == []


def test_another_embedder_the_models_off_or_no_tensor_cannot_judge(bundle, astronaut, mesh):
    rgb = occluders.draw_mask_varied(astronaut, mesh, 3)
    ctx = _context(bundle, rgb)
    other = _context(bundle, rgb, "dlib-resnet-v1")
    off = OcclusionLimits(embedding_models=False)
    assert mask_by_mouth(other.taps, other.embedder, mesh, rgb.shape, "img2", OcclusionLimits()) is None
    assert mask_by_mouth(ctx.taps, ctx.embedder, mesh, rgb.shape, "img2", off) is None
    assert mask_by_mouth(None, ctx.embedder, mesh, rgb.shape, "img2", OcclusionLimits()) is None
    assert _masks(dataclasses.replace(ctx, taps=None), MOUTH_ONLY) == []


def test_a_mouth_cut_by_the_frame_is_not_read(bundle, astronaut, mesh):
    """Outside the image the chip is black, as a dark mask is: the model is not read there."""
    model = mouth_model()
    assert mouth_outside(mesh, astronaut.shape, model) == 0.0
    nose_y = float(mesh[1, 1])
    cut_shape = (int(nose_y), astronaut.shape[1], 3)  # the frame ends at the nose tip
    assert mouth_outside(mesh, cut_shape, model) > OcclusionLimits().mask_mouth_max_outside
    ctx = _context(bundle, astronaut)
    assert mask_by_mouth(ctx.taps, ctx.embedder, mesh, cut_shape, "img2", OcclusionLimits()) is None


def test_below_the_activation_models_size_limit_the_rules_decide(bundle, astronaut, mesh):
    """``taps_min_eye_distance``: on a face with fewer pixels between the eyes, no activation model is read
    (the mouth model, the sunglasses model, ``hattop-v1``): a mask only the mouth model finds is not found,
    and lenses are judged by the lens rule."""
    far = OcclusionLimits(mask_max_skin=0.0, taps_min_eye_distance=1000.0)
    ctx = _context(bundle, occluders.draw_mask_varied(astronaut, mesh, 3))
    assert _masks(ctx, CheckLimits(occlusion=far)) == []
    lenses = _context(bundle, occluders.draw_sunglasses(astronaut, mesh, 1, tint=(38, 38, 42)))
    found = [f for f in run_checks(lenses, CheckLimits(occlusion=OcclusionLimits(taps_min_eye_distance=1000.0)))
             if int(f.code) == 7]
    assert [f.limit for f in found] == [OcclusionLimits().lens_min_score]
