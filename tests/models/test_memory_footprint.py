"""What keeps a serving process small (benchmarks/memory.py measures it): every ONNX Runtime session is
built by ``runtime.onnx_session`` with its options (no CPU memory arena), SFace is folded in a child process
into exactly the bytes an in-process fold gives, and a result's face crop owns its pixels instead of holding
the whole decoded image."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.matcher import face_crop
from facematch.models import runtime
from tests.models.test_onnx_embedder import conv_net


def test_session_options_reach_the_session(tmp_path):
    session = runtime.onnx_session(str(conv_net(tmp_path)), threads=3)
    options = session.get_session_options()
    assert options.enable_cpu_mem_arena is False
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1
    assert options.graph_optimization_level == runtime.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_embedders_build_their_sessions_with_those_options(tmp_path):
    from facematch.models.onnx_embedder import OnnxEmbedderConfig, OnnxFaceEmbedder

    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path), threads=2))
    options = emb._session.get_session_options()
    assert options.enable_cpu_mem_arena is False and options.intra_op_num_threads == 2


def test_face_crop_is_a_copy():
    rgb = np.arange(200 * 300 * 3, dtype=np.uint8).reshape(200, 300, 3)
    box = (100.0, 50.0, 200.0, 150.0)
    crop = face_crop(rgb, box)
    assert crop.base is None and not np.shares_memory(crop, rgb)
    assert np.array_equal(crop, rgb[30:170, 80:220])


@pytest.mark.models
def test_sface_folded_in_a_child_process_equals_the_in_process_fold():
    from facematch.models import sface, weights

    path = weights.SFACE.verified_path()
    assert sface.fold_in_subprocess(path) == sface.fold_block_quantized(path)


@pytest.mark.models
def test_sface_session_has_the_runtime_options():
    from facematch.models import sface, weights

    net = sface.load(weights.SFACE.verified_path(), mirror=False)
    assert net._session.get_session_options().enable_cpu_mem_arena is False


def test_fold_failure_says_why(tmp_path):
    from facematch.models import sface

    with pytest.raises(RuntimeError, match="folding .* failed"):
        sface.fold_in_subprocess(tmp_path / "absent.onnx")


def test_detector_copies_are_half_the_threads():
    from facematch.models.registry import detector_copies

    assert [detector_copies(n) for n in (1, 2, 3, 4, 8)] == [1, 1, 2, 2, 4]


@pytest.mark.models
def test_pool_bundles_share_one_detector_with_half_as_many_interpreters():
    from facematch.models.registry import build_pool
    from facematch.settings import ModelSettings

    pool = build_pool(ModelSettings(), 4)
    bundles = list(pool._free.queue)
    assert len(bundles) == 4 and len({id(b.detector) for b in bundles}) == 1
    det = bundles[0].detector
    assert (det.short._interpreters.copies, det.full._interpreters.copies, det.mesh._interpreters.copies) == (2, 2, 2)


@pytest.mark.models
def test_shared_interpreters_give_each_thread_its_own_answer(astronaut):
    """Four threads on two copies of each model find the same faces as one thread alone."""
    from concurrent.futures import ThreadPoolExecutor

    from facematch.models.registry import DETECTORS
    from facematch.settings import ModelSettings

    detector = DETECTORS["blazeface"](ModelSettings(), 2)
    images = [astronaut, np.ascontiguousarray(astronaut[:, ::-1]), astronaut[40:400, 60:460].copy(),
              np.zeros((300, 300, 3), np.uint8)]
    alone = [detector.detect(img) for img in images]
    with ThreadPoolExecutor(4) as ex:
        for _ in range(3):
            together = list(ex.map(detector.detect, images))
            for a, b in zip(alone, together, strict=True):
                assert [d.box for d in a] == [d.box for d in b]
                assert all(np.array_equal(x.mesh.points, y.mesh.points) for x, y in zip(a, b, strict=True))
    assert len(alone[0]) == 1 and alone[3] == []


def test_memory_arena_setting_reaches_the_embedders_session(tmp_path):
    from facematch.models import registry
    from facematch.settings import ModelSettings, OnnxEmbedderSettings

    for arena in (False, True):
        settings = ModelSettings(embedder="onnx", onnx=OnnxEmbedderSettings(path=conv_net(tmp_path)),
                                 onnx_memory_arena=arena)
        emb = registry.choose(registry.EMBEDDERS, "embedder", "onnx")(settings)
        assert emb._session.get_session_options().enable_cpu_mem_arena is arena
