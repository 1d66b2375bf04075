"""The sunglasses model (``facematch/data/sunglasses-v1.json``, ``occlusion.sunglasses_by_model``): SFace's
own activations around the eyes, read from the embedding's run. On the astronaut (scikit-image, public
domain) with lenses drawn over her eyes; and the fallback to the lens rule."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facematch.checks.occlusion import OcclusionLimits, sunglasses_by_model, sunglasses_model
from facematch.checks.suite import CheckLimits, FaceContext, run_checks
from tests.support.images import face_context
from tools.synth import occluders

pytestmark = pytest.mark.models

RULE_ONLY = CheckLimits(occlusion=OcclusionLimits(embedding_models=False))


def _context(bundle, rgb: np.ndarray, embedder: str | None = None) -> FaceContext:
    return face_context(bundle, rgb, embedder, taps=True)


def _sunglasses(ctx: FaceContext, limits: CheckLimits | None = None):
    return [f for f in run_checks(ctx, limits or CheckLimits()) if int(f.code) == 7]


@pytest.fixture(scope="module")
def mesh(bundle, astronaut) -> np.ndarray:
    return bundle.detector.detect(astronaut)[0].mesh.points


def test_the_model_reads_the_default_embedders_own_tensor(bundle, astronaut):
    model = sunglasses_model()
    ctx = _context(bundle, astronaut)
    assert model.embedder == bundle.embedder.name == "sface-2021dec" and model.reads(ctx.embedder, ctx.taps)
    assert "lfw_sunglasses" in model.provenance["fitted_on"]


def test_the_tapped_run_gives_the_embedding_itself(bundle, astronaut, mesh):
    from facematch.models.alignment import alignment_points

    best = bundle.detector.detect(astronaut)[0]
    chip = bundle.embedder.align(astronaut, alignment_points(bundle.embedder.points,
                                                             bundle.landmarker(astronaut, best.box), mesh))
    embedding, taps = bundle.embedder.embed_tapped(chip)
    assert np.array_equal(embedding, bundle.embedder.embed(chip))
    # one view per run: the chip's own and its mirror image's
    assert taps[sunglasses_model().tap].shape == (2, *sunglasses_model().tap_shape)


def test_a_face_and_its_mirror_image_get_one_score(bundle, astronaut, mesh):
    """The readers average over the chip's own run and its mirror image's, so the chip mirrored (what a
    front camera sends) is judged exactly as the chip: its views are the same two, swapped."""
    from facematch.checks.occlusion import mouth_model
    from facematch.models.alignment import alignment_points

    shaded = occluders.draw_sunglasses(astronaut, mesh, 1, tint=(70, 46, 28))
    best = bundle.detector.detect(shaded)[0]
    chip = bundle.embedder.align(shaded, alignment_points(bundle.embedder.points,
                                                          bundle.landmarker(shaded, best.box), mesh))
    _, taps = bundle.embedder.embed_tapped(chip)
    _, mirrored = bundle.embedder.embed_tapped(np.ascontiguousarray(chip[:, ::-1]))
    tap = sunglasses_model().tap
    assert np.array_equal(mirrored[tap][0], taps[tap][1]) and np.array_equal(mirrored[tap][1], taps[tap][0])
    for model in (sunglasses_model(), mouth_model()):
        one = model.score({tap: taps[tap][0]})  # a single view is read as it is
        assert model.score(taps) == pytest.approx(model.score(mirrored), abs=1e-9)
        assert model.score(taps) == pytest.approx((one + model.score({tap: taps[tap][1]})) / 2, abs=1e-9)
    from facematch.checks.occlusion import hat_top_model

    assert hat_top_model().score(0.0, taps) == pytest.approx(hat_top_model().score(0.0, mirrored), abs=1e-9)
    assert sunglasses_model().score(taps) > 0  # the drawn lenses are found


@pytest.mark.parametrize("tint", [(38, 38, 42), (70, 46, 28)])
def test_dark_lenses_are_found_by_the_model(bundle, astronaut, mesh, tint):
    found = _sunglasses(_context(bundle, occluders.draw_sunglasses(astronaut, mesh, 1, tint=tint)))
    assert len(found) == 1 and found[0].limit == OcclusionLimits().sunglasses_min_model_score
    assert found[0].value is not None and found[0].value > 0


def test_bare_eyes_and_clear_glasses_are_not(bundle, astronaut, mesh):
    for rgb in (astronaut, occluders.draw_clear_glasses(astronaut, mesh, 0)):
        ctx = _context(bundle, rgb)
        assert _sunglasses(ctx) == []
        assert sunglasses_by_model(ctx.taps, ctx.embedder, "img2", OcclusionLimits()) == []  # judged: none


def test_dark_lenses_on_a_greyscale_photo(bundle, astronaut, mesh):
    """No colour to tell a lens from skin: the lens rule needs larger and darker lenses there; the
    network's activations do not depend on colour alone."""
    grey = cv2.cvtColor(occluders.draw_sunglasses(astronaut, mesh, 1, tint=(38, 38, 42)), cv2.COLOR_RGB2GRAY)
    assert len(_sunglasses(_context(bundle, np.repeat(grey[:, :, None], 3, axis=2)))) == 1


def test_another_embedder_or_the_models_off_fall_back_to_the_rule(bundle, astronaut, mesh):
    rgb = occluders.draw_sunglasses(astronaut, mesh, 1, tint=(38, 38, 42))
    rule_limit = OcclusionLimits().lens_min_score
    other = _context(bundle, rgb, "dlib-resnet-v1")
    assert sunglasses_by_model(other.taps, other.embedder, "img2", OcclusionLimits()) is None
    assert [f.limit for f in _sunglasses(other)] == [rule_limit]
    assert [f.limit for f in _sunglasses(_context(bundle, rgb), RULE_ONLY)] == [rule_limit]

