"""The hat model over SFace's activations at the top of its chip (``facematch/data/hattop-v1.json``,
``occlusion.hat_top_model``) through the real network: the embedding's run returns the tensor it reads,
caps drawn on the astronaut (scikit-image, public domain) are found with it, the bare head is not, and
without the tensor, with another network or with the embedding models off ``hat-v3`` decides as before."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks import occlusion
from facematch.checks.occlusion import OcclusionLimits, hat_features, hat_model, hat_top_model, head_yaw
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from tests.support.images import face_context
from tools.synth import occluders

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def portrait(astronaut) -> np.ndarray:
    """The astronaut with room above her head for a hat to be seen."""
    canvas = np.full((640, 512, 3), (205, 205, 200), np.uint8)
    canvas[128:, :] = astronaut
    return canvas


@pytest.fixture(scope="module")
def mesh(bundle, portrait) -> np.ndarray:
    return bundle.detector.detect(portrait)[0].mesh.points


def _hats(ctx: FaceContext, limits: CheckLimits | None = None):
    return [f for f in run_checks(ctx, limits or CheckLimits()) if int(f.code) == 8]


def _both(view: occlusion.FaceView) -> tuple[np.ndarray, np.ndarray]:
    """The image features of the view and of its mirror image, whose scores the check averages."""
    return hat_features(view), hat_features(view.mirrored())


def _scores(ctx: FaceContext) -> tuple[float, float]:
    """(hat-v3's score with the embedding, the sum with the top of the chip) of the context's face."""
    assert ctx.face is not None and ctx.taps is not None and ctx.embedding is not None
    both = _both(occlusion.FaceView.from_points(ctx.rgb, ctx.face.mesh.points))
    base = hat_model()
    v3 = sum(base.score(x, ctx.embedding, ctx.embedder) for x in both) / 2
    return v3, hat_top_model().score(sum(base.log_odds(x, ctx.embedding) for x in both) / 2, ctx.taps)


def test_the_model_reads_the_default_embedders_own_tensor(bundle, portrait):
    ctx = face_context(bundle, portrait, taps=True)
    model = hat_top_model()
    assert model.embedder == bundle.embedder.name == "sface-2021dec" and model.reads(ctx.embedder, ctx.taps)
    assert ctx.face is not None
    assert abs(head_yaw(ctx.face.mesh.points)) < OcclusionLimits().hat_max_yaw  # a frontal head: the sum decides


def test_the_bare_head_is_not_a_hat(bundle, portrait):
    ctx = face_context(bundle, portrait, taps=True)
    assert max(_scores(ctx)) < 0
    assert _hats(ctx) == []


@pytest.mark.parametrize("colour", [(180, 30, 36), (30, 40, 80), (236, 236, 232)])
def test_caps_are_found_with_the_top_of_the_chip(bundle, portrait, mesh, colour):
    """Red, navy and white caps drawn along the mesh (neither model was fitted on drawings): the finding
    reports the sum's score. hat-v3 alone, with the embedding, misses the white cap on this canvas."""
    ctx = face_context(bundle, occluders.draw_cap(portrait, mesh, 3, colour=colour), taps=True)
    _, total = _scores(ctx)
    found = _hats(ctx)
    assert [(f.value, f.limit) for f in found] == [(pytest.approx(total), OcclusionLimits().hat_min_score)]
    assert total > 0


def test_without_the_tensor_another_network_or_the_models_off_hat_v3_decides(bundle, portrait, mesh):
    rgb = occluders.draw_cap(portrait, mesh, 3, colour=(180, 30, 36))
    tapped = face_context(bundle, rgb, taps=True)
    v3, total = _scores(tapped)
    assert v3 != pytest.approx(total)
    untapped = face_context(bundle, rgb)
    assert untapped.taps is None
    assert [f.value for f in _hats(untapped)] == [pytest.approx(v3)]
    assert tapped.face is not None
    view = occlusion.FaceView.from_points(rgb, tapped.face.mesh.points)
    image_alone = sum(hat_model().score(x) for x in _both(view)) / 2
    other = face_context(bundle, rgb, "dlib-resnet-v1", taps=True)
    off = CheckLimits(occlusion=OcclusionLimits(embedding_models=False))
    for ctx, limits in ((other, None), (tapped, off)):
        assert [f.value for f in _hats(ctx, limits)] == [pytest.approx(image_alone)]
