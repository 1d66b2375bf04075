"""The ResNet read from dlib's weights file and run under ONNX Runtime gives
dlib's own embedding, and the reader refuses what is not that network."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.models import weights
from facematch.models.dlib_onnx import DatFormatError, OnnxEmbedder, _Reader, read_dat

pytestmark = pytest.mark.models

#: float32 rounding: measured max |difference| per component ~2e-7 on
#: descriptors of norm ~1.3 (docs/models.md); this leaves room for other BLAS.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def nets():
    import dlib

    path = weights.DLIB_RESNET.path()
    return dlib.face_recognition_model_v1(str(path)), OnnxEmbedder(path, mirror=True)


def _chips(astronaut):
    import dlib

    from facematch.models.dlib_models import dlib_rect
    from facematch.models.registry import build_pool
    from facematch.settings import ModelSettings

    with build_pool(ModelSettings(), 1).bundle() as bundle:
        face = bundle.detector.detect(astronaut)[0]
    predictor = dlib.shape_predictor(str(weights.DLIB_LANDMARKS_5.path()))
    aligned = dlib.get_face_chip(astronaut, predictor(astronaut, dlib_rect(face.box)), size=150, padding=0.25)
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    flat = np.full((150, 150, 3), 200, np.uint8)
    return [aligned, np.ascontiguousarray(aligned[:, ::-1]), noise, flat]


def test_onnx_equals_dlib(nets, astronaut):
    dlib_net, onnx_net = nets
    chips = _chips(astronaut)
    ours = onnx_net.raw(np.stack(chips))
    for chip, vec in zip(chips, ours, strict=True):
        ref = np.array(dlib_net.compute_face_descriptor(chip), dtype=np.float32)
        assert np.abs(vec - ref).max() < TOLERANCE
        assert 0.5 < np.linalg.norm(ref) < 3  # a real descriptor, not zeros


def test_chip_from_the_five_points_is_dlibs_chip(nets, model_pool, astronaut):
    """The Embedder protocol hands the embedder points, not dlib's shape object:
    the chip rebuilt from them is the one dlib cuts from its predictor's shape."""
    _, onnx_net = nets
    with model_pool.bundle() as bundle:
        points = bundle.landmarker(astronaut, bundle.detector.detect(astronaut)[0].box)
    assert np.array_equal(onnx_net.align(astronaut, points), _chips(astronaut)[0])


def test_mirror_embedding_is_unit_mean_of_both(nets, astronaut):
    _, onnx_net = nets
    chip = _chips(astronaut)[0]
    raw = onnx_net.raw(np.stack([chip, chip[:, ::-1]]))
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    expected = raw.sum(0) / np.linalg.norm(raw.sum(0))
    got = onnx_net.embed_chip(chip)
    assert np.allclose(got, expected, atol=1e-6)
    assert abs(np.linalg.norm(got) - 1) < 1e-5


def test_packed_integers():
    # dlib's format: control byte (sign bit 0x80, byte count), little-endian magnitude.
    assert _Reader(bytes([0x00])).integer() == 0
    assert _Reader(bytes([0x01, 0x96])).integer() == 150
    assert _Reader(bytes([0x82, 0x00, 0x01])).integer() == -256
    with pytest.raises(DatFormatError):
        _Reader(bytes([0x30])).integer()


def test_reader_refuses_other_files(tmp_path):
    truncated = tmp_path / "cut.dat"
    truncated.write_bytes(weights.DLIB_RESNET.path().read_bytes()[:100_000])
    with pytest.raises(DatFormatError):
        read_dat(truncated)
    other = tmp_path / "landmarks.dat"
    other.write_bytes(weights.DLIB_LANDMARKS_5.path().read_bytes())
    with pytest.raises(DatFormatError):
        read_dat(other)
