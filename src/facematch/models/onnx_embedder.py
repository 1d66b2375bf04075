"""Embedding networks behind the ``Embedder`` Protocol (``models.protocols``).

* ``OnnxFaceEmbedder``: any ONNX face-embedding network a deployment holds a
  licence for, with its alignment (``models.alignment``: ArcFace's 112-px
  five-point crop or dlib's 150-px chip), input layout, channel order and
  normalisation set by ``OnnxEmbedderConfig``. Nothing ships with it
  (docs/models.md, "Plugging in a licensed embedding network"). SFace, the
  default network, is one too (``models.sface``); dlib's ResNet has its own
  class (``dlib_onnx.OnnxEmbedder``).

It returns unit float32 vectors compared by Euclidean distance and is
thread-safe (ONNX Runtime's ``run`` is; the rest is stateless numpy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from facematch.models import alignment

if TYPE_CHECKING:
    import onnxruntime as ort

Image = npt.NDArray[np.uint8]
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class OnnxEmbedderConfig:
    """How to feed a network and read its embedding.

    The chip (``alignment`` at ``size`` pixels, RGB uint8) becomes the input
    ``(pixel[channels] - mean) / std``: ``channels`` is the order the network
    wants (``"BGR"`` swaps the planes first), ``mean`` and ``std`` are scalars
    or triples in that same order, ``layout`` is ``"NCHW"`` or ``"NHWC"``.
    ``input_name`` is found when the model has one input; the embedding is
    output ``output_index``, ``(N, dim)``. With ``mirror`` the chip and its
    mirror image are embedded and the result is the normalised mean of the two
    unit vectors. ``taps`` names other outputs (inner tensors) that
    ``embed_tapped`` returns, of the chip and of its mirror image (with
    ``mirror``). ``name`` (what calibration and adaptation artefacts record)
    (empty: the default) is ``onnx-<file stem>-<digest>``, the digest covering
    the model file and every setting here that changes the vectors. Lists
    (from settings) are taken for ``mean`` and ``std``: one number or three.
    """

    path: Path | str
    alignment: str = "arcface112"
    size: int = 112
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    channels: Literal["RGB", "BGR"] = "RGB"
    mean: float | Sequence[float] = 127.5
    std: float | Sequence[float] = 127.5
    input_name: str | None = None
    output_index: int = 0
    mirror: bool = False
    threads: int = 1
    name: str | None = None
    #: Other outputs of the graph that ``embed_tapped`` returns beside the embedding (inner tensors).
    taps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.alignment not in alignment.ALIGNMENTS:
            raise ValueError(f"unknown alignment {self.alignment!r}; known: {', '.join(sorted(alignment.ALIGNMENTS))}")
        if self.layout not in ("NCHW", "NHWC"):
            raise ValueError(f"layout must be NCHW or NHWC, not {self.layout!r}")
        if self.channels not in ("RGB", "BGR"):
            raise ValueError(f"channels must be RGB or BGR, not {self.channels!r}")
        if self.size < 16:
            raise ValueError(f"size {self.size} is too small")
        for field in ("mean", "std"):  # lists (from JSON settings) become tuples
            object.__setattr__(self, field, _triple_or_scalar(field, getattr(self, field)))
        if np.any(np.asarray(self.std, np.float64) == 0):
            raise ValueError("std must not be zero")
        if self.threads < 1 or self.output_index < 0:
            raise ValueError("threads must be >= 1 and output_index >= 0")

    def preprocessing(self) -> str:
        """Every setting that changes the vectors, as text (for ``name``)."""
        return (f"alignment={self.alignment} size={self.size} layout={self.layout} channels={self.channels} "
                f"mean={self.mean} std={self.std} output={self.output_index} mirror={self.mirror}")


def _triple_or_scalar(field: str, value: object) -> float | tuple[float, float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 1:
        return float(value[0])
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 3:
        a, b, c = (float(v) for v in value)
        return a, b, c
    raise ValueError(f"{field} must be one number or three (one per channel), not {value!r}")


def _dims(shape: Sequence[object]) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) else "N" for d in shape) + "]"


class OnnxFaceEmbedder:
    """A licensed ONNX embedding network (see ``OnnxEmbedderConfig``).

    Refuses, with a ``ValueError`` saying why, a model whose input is not one
    float tensor of the configured layout and size, or whose output is not one
    vector per face. ``dim`` is read from the output's shape, or from one
    warm-up run when that is dynamic (the warm-up runs in any case).
    ``session`` (one built by ``runtime.onnx_session``) may be given; by
    default it is built from ``config.path`` with ``config.threads`` intra-op
    threads (and ONNX Runtime's memory arena with ``arena``).
    """

    def __init__(self, config: OnnxEmbedderConfig, *, session: ort.InferenceSession | None = None,
                 arena: bool = False) -> None:
        from facematch.models.runtime import onnx_session

        self.config = config
        path = Path(config.path)
        if session is None:
            if not path.is_file():
                raise ValueError(f"ONNX embedding model {path} not found")
            session = onnx_session(str(path), config.threads, arena=arena)
        self._session = session
        self._mean = np.asarray(config.mean, np.float32)
        self._scale = np.float32(1.0) / np.asarray(config.std, np.float32)
        self._input, self._batch_of_one = self._check_input()
        self._output = self._check_output()
        missing = set(config.taps) - {o.name for o in self._session.get_outputs()}
        if missing:
            raise ValueError(f"the model has no output {', '.join(sorted(missing))} to tap")
        #: The five points ``align`` takes (``alignment.POINTS``).
        self.points = alignment.POINTS[config.alignment]
        self.dim = self._warm_up()
        if config.name:
            self.name = config.name
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes())
            digest.update(config.preprocessing().encode())
            self.name = f"onnx-{path.stem}-{digest.hexdigest()[:12]}"
        else:
            raise ValueError("a name is needed for an injected session without its model file")

    def _check_input(self) -> tuple[str, bool]:
        c = self.config
        inputs = self._session.get_inputs()
        if c.input_name is None:
            if len(inputs) != 1:
                raise ValueError(f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}): "
                                 "set input_name")
            inp = inputs[0]
        else:
            found = [i for i in inputs if i.name == c.input_name]
            if not found:
                raise ValueError(f"the model has no input {c.input_name!r} (it has: "
                                 f"{', '.join(i.name for i in inputs)})")
            inp = found[0]
        if inp.type != "tensor(float)":
            raise ValueError(f"input {inp.name!r} is {inp.type}; only float32 inputs are supported")
        shape = list(inp.shape)
        expected: list[object] = ["N", 3, c.size, c.size] if c.layout == "NCHW" else ["N", c.size, c.size, 3]
        wrong = len(shape) != 4 or any(isinstance(d, int) and d != e
                                       for d, e in zip(shape[1:], expected[1:], strict=True))
        if wrong:
            raise ValueError(f"input {inp.name!r} has shape {_dims(shape)}, but layout {c.layout} at size {c.size} "
                             f"needs {_dims(expected)}: check the model's size and layout settings")
        batch = shape[0]
        if isinstance(batch, int) and batch != 1:
            raise ValueError(f"input {inp.name!r} has a fixed batch of {batch}; only 1 or dynamic is supported")
        return str(inp.name), batch == 1

    def _check_output(self) -> str:
        outputs = self._session.get_outputs()
        if self.config.output_index >= len(outputs):
            raise ValueError(f"output_index {self.config.output_index}, but the model has {len(outputs)} outputs")
        out = outputs[self.config.output_index]
        if len(out.shape) != 2:
            raise ValueError(f"output {out.name!r} has shape {_dims(out.shape)}: an embedding must be one "
                             "1-D vector per face, (N, dim)")
        return str(out.name)

    def _warm_up(self) -> int:
        declared = self._session.get_outputs()[self.config.output_index].shape[1]
        chip = np.full((self.config.size, self.config.size, 3), 127, np.uint8)
        vecs = self.raw(chip[None])
        if vecs.ndim != 2 or vecs.shape[0] != 1 or vecs.shape[1] < 1:
            raise ValueError(f"the model's output for one face has shape {vecs.shape}, not (1, dim)")
        if isinstance(declared, int) and declared != vecs.shape[1]:
            raise ValueError(f"the model declares {declared} outputs but gives {vecs.shape[1]}")
        return int(vecs.shape[1])

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The chip the network sees: ``config.alignment`` at ``config.size``."""
        return alignment.align(rgb, landmarks, self.config.alignment, self.config.size)

    def prepare(self, chips: Image) -> npt.NDArray[np.float32]:
        """The network's input for ``(n, size, size, 3)`` RGB uint8 chips."""
        x = np.asarray(chips, np.float32)
        if self.config.channels == "BGR":
            x = x[..., ::-1]
        x = (x - self._mean) * self._scale
        if self.config.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=np.float32)

    def raw(self, chips: Image) -> npt.NDArray[np.float32]:
        """The network's raw (not normalised) outputs, ``(n, dim)``."""
        x = self.prepare(chips)
        parts: list[Any] = ([self._session.run([self._output], {self._input: x[i:i + 1]})[0] for i in range(len(x))]
                            if self._batch_of_one else [self._session.run([self._output], {self._input: x})[0]])
        return np.concatenate([np.asarray(p, np.float32) for p in parts])

    def _check_chip(self, chip: np.ndarray) -> None:
        size = self.config.size
        if chip.shape != (size, size, 3):
            raise ValueError(f"expected a ({size}, {size}, 3) chip, got {chip.shape}")

    def embed(self, chip: np.ndarray) -> np.ndarray:
        """Unit ``dim``-vector of an aligned chip (and its mirror image, with ``mirror``)."""
        self._check_chip(chip)
        if not self.config.mirror:
            return _unit_mean(self.raw(chip[None]))
        # The chip and its mirror image as two runs of one, not one batch of two: as fast on one thread
        # (SFace: 39.7 against 39.2 ms the pair), and each run's intermediate tensors are half the size:
        # two threads embedding at once peaked 30 MiB lower (docs/performance.md, "Memory").
        return _unit_mean(np.concatenate([self.raw(chip[None]), self.raw(chip[None, :, ::-1])]))

    def embed_tapped(self, chip: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``embed(chip)`` and the tensors ``config.taps`` names, one per view along a first axis: the
        chip's own run first, then, with ``mirror``, its mirror image's (``(views, ...)``; the readers
        average their scores over the views, so that a face and its mirror image are judged alike). The
        same runs as ``embed``: no more computation."""
        if not self.config.taps:
            return self.embed(chip), {}
        self._check_chip(chip)
        views = [chip[None], chip[None, :, ::-1]] if self.config.mirror else [chip[None]]
        runs = [self._session.run([self._output, *self.config.taps], {self._input: self.prepare(v)}) for v in views]
        vecs = np.concatenate([np.asarray(run[0], np.float32) for run in runs])
        taps = {name: np.concatenate([np.asarray(run[1 + i], np.float32) for run in runs])
                for i, name in enumerate(self.config.taps)}
        return _unit_mean(vecs), taps


def _unit_mean(vecs: npt.NDArray[np.float32]) -> Vector:
    """The normalised mean of the rows, each normalised first."""
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    mean = vecs.sum(axis=0)
    out: Vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return out

