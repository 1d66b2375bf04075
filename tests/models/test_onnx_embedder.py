"""Pluggable embedding networks: an ONNX network built here with onnx.helper
goes through ``OnnxFaceEmbedder`` (input checks, normalisation, layout,
channel order, unit output), the alignments put the face where their
templates say, and (marked ``models``) dlib's chip from the five points
equals what dlib's own chip extraction computes."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from facematch.models import alignment
from facematch.models.onnx_embedder import OnnxEmbedderConfig, OnnxFaceEmbedder


def _save(tmp_path: Path, name: str, nodes: list, inits: list, inp, out) -> Path:
    graph = helper.make_graph(nodes, name, [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="facematch-test")
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def conv_net(tmp_path: Path, *, layout: str = "NCHW", size: int = 112, dim: int | str = 64, batch: int | str = "N",
             flatten: bool = True, name: str = "conv") -> Path:
    """conv 3x3/2 (3 -> 8) + relu + global average pool + a fixed random 8 x 64 matrix."""
    rng = np.random.default_rng(1)
    shape = [batch, 3, size, size] if layout == "NCHW" else [batch, size, size, 3]
    nodes, inits = [], [numpy_helper.from_array(rng.normal(size=(8, 3, 3, 3)).astype(np.float32), "w"),
                        numpy_helper.from_array(rng.normal(size=8).astype(np.float32), "b"),
                        numpy_helper.from_array(rng.normal(size=(8, 64)).astype(np.float32), "fc")]
    x = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    nodes += [helper.make_node("Conv", [x, "w", "b"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
              helper.make_node("Relu", ["c"], ["r"]),
              helper.make_node("GlobalAveragePool", ["r"], ["g"])]
    if flatten:
        nodes += [helper.make_node("Flatten", ["g"], ["f"], axis=1), helper.make_node("MatMul", ["f", "fc"], ["emb"])]
        out = helper.make_tensor_value_info("emb", TensorProto.FLOAT, [batch, dim])
    else:
        nodes.append(helper.make_node("Identity", ["g"], ["emb"]))
        out = helper.make_tensor_value_info("emb", TensorProto.FLOAT, [batch, 8, 1, 1])
    return _save(tmp_path, name, nodes, inits, helper.make_tensor_value_info("input", TensorProto.FLOAT, shape), out)


def identity_net(tmp_path: Path, *, layout: str = "NCHW", size: int = 32) -> Path:
    """The input, flattened: the output is exactly what the network was fed."""
    shape = ["N", 3, size, size] if layout == "NCHW" else ["N", size, size, 3]
    return _save(tmp_path, f"identity_{layout}", [helper.make_node("Flatten", ["x"], ["y"], axis=1)], [],
                 helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
                 helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3 * size * size]))


def chip(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_unit_vector_of_configured_dim(tmp_path, layout):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, layout=layout), layout=layout))
    assert emb.dim == 64
    vec = emb.embed(chip(112))
    assert vec.shape == (64,) and vec.dtype == np.float32
    assert abs(float(np.linalg.norm(vec)) - 1) < 1e-5
    assert emb.name.startswith("onnx-conv-")


def test_layouts_give_the_same_vector(tmp_path):
    a = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, name="a")))
    b = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, layout="NHWC", name="b"), layout="NHWC"))
    assert np.allclose(a.embed(chip(112)), b.embed(chip(112)), atol=1e-5)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("channels", "mean", "std"), [
    ("RGB", 127.5, 127.5), ("BGR", 127.5, 128.0), ("RGB", (123.0, 117.0, 104.0), (58.0, 57.0, 56.0)),
    ("BGR", [1.0, 2.0, 3.0], [2.0, 4.0, 8.0])])
def test_input_is_normalised_as_configured(tmp_path, layout, channels, mean, std):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(identity_net(tmp_path, layout=layout), size=32, layout=layout,
                                              channels=channels, mean=mean, std=std))
    c = chip(32, seed=3)
    x = c.astype(np.float64)
    if channels == "BGR":
        x = x[..., ::-1]
    x = (x - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
    if layout == "NCHW":
        x = x.transpose(2, 0, 1)
    assert emb.dim == 3 * 32 * 32
    assert np.allclose(emb.raw(c[None])[0], x.ravel(), atol=1e-5)


def test_mirror_is_unit_mean_of_chip_and_its_mirror(tmp_path):
    path = identity_net(tmp_path)
    on, off = (OnnxFaceEmbedder(OnnxEmbedderConfig(path, size=32, mirror=m)) for m in (True, False))
    c = chip(32, seed=4)
    a, b = off.embed(c), off.embed(np.ascontiguousarray(c[:, ::-1]))
    assert np.allclose(on.embed(c), (a + b) / np.linalg.norm(a + b), atol=1e-6)
    assert on.name != off.name  # artefacts of one are not valid for the other


def test_name_follows_file_and_settings(tmp_path):
    path = conv_net(tmp_path)
    base = OnnxFaceEmbedder(OnnxEmbedderConfig(path))
    assert base.name == OnnxFaceEmbedder(OnnxEmbedderConfig(path)).name
    assert base.name != OnnxFaceEmbedder(OnnxEmbedderConfig(path, mean=127.0)).name
    assert OnnxFaceEmbedder(OnnxEmbedderConfig(path, name="bank-net-v3")).name == "bank-net-v3"


def test_dynamic_output_dim_read_by_warm_up(tmp_path):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, dim="D")))
    assert emb.dim == 64


def test_batch_of_one_model_with_mirror(tmp_path):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, batch=1), mirror=True))
    dynamic = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, name="dyn"), mirror=True))
    assert np.allclose(emb.embed(chip(112)), dynamic.embed(chip(112)), atol=1e-6)


def test_injected_session(tmp_path):
    from facematch.models.runtime import onnx_session

    path = conv_net(tmp_path)
    session = onnx_session(str(path))
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(tmp_path / "absent.onnx", name="injected"), session=session)
    assert emb.name == "injected" and emb.dim == 64
    with pytest.raises(ValueError, match="name"):
        OnnxFaceEmbedder(OnnxEmbedderConfig(tmp_path / "absent.onnx"), session=session)


def test_wrong_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"shape \[N, 3, 112, 112\].*needs \[N, 3, 128, 128\]"):
        OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path), size=128))


def test_wrong_layout_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"layout NCHW at size 112 needs \[N, 3, 112, 112\]"):
        OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, layout="NHWC"), layout="NCHW"))


def test_output_not_a_vector_is_refused(tmp_path):
    with pytest.raises(ValueError, match="one 1-D vector per face"):
        OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path, flatten=False)))


def test_missing_file_and_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        OnnxFaceEmbedder(OnnxEmbedderConfig(tmp_path / "absent.onnx"))
    with pytest.raises(ValueError, match="unknown alignment"):
        OnnxEmbedderConfig("x.onnx", alignment="mtcnn")
    with pytest.raises(ValueError, match="one number or three"):
        OnnxEmbedderConfig("x.onnx", mean=(1.0, 2.0))
    with pytest.raises(ValueError, match="zero"):
        OnnxEmbedderConfig("x.onnx", std=(1.0, 0.0, 1.0))
    assert OnnxEmbedderConfig("x.onnx", mean=[1, 2, 3]).mean == (1.0, 2.0, 3.0)
    assert OnnxEmbedderConfig("x.onnx", std=[128]).std == 128.0


def test_wrong_chip_size_is_refused(tmp_path):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path)))
    with pytest.raises(ValueError, match=r"\(112, 112, 3\) chip"):
        emb.embed(chip(150))


def test_threads_share_one_embedder(tmp_path):
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path)))
    chips = [chip(112, seed=s) for s in range(8)]
    expected = [emb.embed(c) for c in chips]
    got: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        for _ in range(5):
            got[i] = emb.embed(chips[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[i], expected[i]) for i in range(8))


def synthetic_face(angle: float = 12.0, scale: float = 2.6, shift: tuple[float, float] = (130.0, 90.0),
                   size: tuple[int, int] = (480, 520)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey image with a dark dot at each of ArcFace's two eye centres, and
    our five landmarks, both placed by one similarity from the 112-px frame."""
    c, s = np.cos(np.radians(angle)) * scale, np.sin(np.radians(angle)) * scale
    m = np.array([[c, -s, shift[0]], [s, c, shift[1]]])
    eyes = alignment.transform(alignment.ARCFACE112[:2], m)
    landmarks = alignment.transform(alignment.DLIB5_IN_ARCFACE112, m)
    img = np.full((size[1], size[0], 3), 200, np.uint8)
    for x, y in eyes:
        cv2.circle(img, (round(float(x) * 16), round(float(y) * 16)), 16 * 5, (20, 20, 20), -1, cv2.LINE_AA, shift=4)
    return img, landmarks, eyes


def dots(chip: np.ndarray) -> np.ndarray:
    """Centroids of the dark blobs, left to right."""
    dark = (chip[..., 0] < 110).astype(np.uint8)
    n, _, _, centroids = cv2.connectedComponentsWithStats(dark)
    return np.array(sorted(centroids[1:n].tolist()))


@pytest.mark.parametrize("size", [112, 224])
def test_arcface112_puts_the_eyes_on_the_template(size):
    img, landmarks, _ = synthetic_face()
    out = alignment.align(img, landmarks, "arcface112", size)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8
    found = dots(out)
    assert found.shape == (2, 2)
    assert np.abs(found - alignment.ARCFACE112[:2] * size / 112).max() < 1.5


def test_arcface112_from_noisy_landmarks_stays_close():
    img, landmarks, _ = synthetic_face(angle=-8, scale=1.7, shift=(90, 120))
    noisy = landmarks + np.random.default_rng(5).normal(0, 0.7, landmarks.shape).astype(np.float32)
    found = dots(alignment.align(img, noisy, "arcface112", 112))
    assert np.abs(found - alignment.ARCFACE112[:2]).max() < 2.0


def test_align_refuses_bad_input():
    img, landmarks, _ = synthetic_face()
    with pytest.raises(ValueError, match="unknown alignment"):
        alignment.align(img, landmarks, "nope", 112)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        alignment.align(img, landmarks[:4], "arcface112", 112)


def test_similarity_recovers_a_known_transform():
    m = np.array([[1.2, -0.4, 10.0], [0.4, 1.2, -3.0]])
    src = alignment.ARCFACE112
    assert np.allclose(alignment.similarity(src, alignment.transform(src, m)), m, atol=1e-4)


def test_embedder_align_uses_its_alignment(tmp_path):
    img, landmarks, _ = synthetic_face()
    emb = OnnxFaceEmbedder(OnnxEmbedderConfig(conv_net(tmp_path)))
    assert np.array_equal(emb.align(img, landmarks), alignment.align(img, landmarks, "arcface112", 112))


# --- with the real dlib models -------------------------------------------------

#: The astronaut's face, roughly where dlib's landmark model expects its box.
ASTRONAUT_BOX = (170, 68, 276, 175)


@pytest.fixture(scope="module")
def astronaut_shape(astronaut):
    import dlib

    from facematch.models import weights

    predictor = dlib.shape_predictor(str(weights.DLIB_LANDMARKS_5.path()))
    shape = predictor(astronaut, dlib.rectangle(*ASTRONAUT_BOX))
    return shape, np.array([[p.x, p.y] for p in shape.parts()], np.float32)


@pytest.mark.models
def test_dlib150_from_points_equals_predictor_chip(astronaut, astronaut_shape):
    import dlib

    shape, points = astronaut_shape
    expected = dlib.get_face_chip(astronaut, shape, size=150, padding=0.25)
    assert np.array_equal(alignment.align(astronaut, points, "dlib150", 150), expected)
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    assert alignment.align(mirrored, points, "dlib150", 150).shape == (150, 150, 3)
