"""The hat models' weights (code 8, ``checks.occlusion.hat``): ``HatModel`` (``hat-v3``) and, beside it,
``HatTopModel`` (``hattop-v1``, below), which reads the network's activations at the top of its chip.

Schema ``facematch-hat/2``: ``version``, the features it was fitted on
(``measures`` names, the head-top ``window``, the ``hog`` descriptor's
parameters), ``mean`` and ``scale`` (their standardisation), ``weights`` and
``bias`` (a logistic model over those image features alone), ``threshold``
(its operating point); ``embedder`` and ``dim``, the network whose own
embeddings (before any adaptation) the second model reads, and
``with_embedding``: a logistic model (``mean``, ``scale``, ``weights``,
``bias``, ``threshold``) over the image features followed by that
embedding, used whenever the face's embedding comes from ``embedder`` (the
image model alone decides otherwise); then ``provenance``. Fitted by
``tools/fit_hat.py``; ``checks.occlusion`` refuses one whose features are not
those it computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from facematch.artifacts import Source
from facematch.artifacts.logistic import Logistic
from facematch.artifacts.sunglasses import holds_tensor, views


@dataclass(frozen=True, eq=False)
class HatModel:
    KIND: ClassVar[str] = "hat"
    SCHEMA: ClassVar[str] = "facematch-hat/2"

    version: str
    measures: tuple[str, ...]
    window: tuple[float, ...]
    hog: Any  # the HOG descriptor's parameters, as JSON lists
    logistic: Logistic  # the image features alone
    embedder: str
    dim: int
    with_embedding: Logistic  # the image features, then the embedding
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> HatModel:
        image = Logistic.from_doc(doc, "hat artefact")
        dim = int(doc["dim"])
        if dim <= 0:
            raise ValueError("hat artefact: dim must be positive")
        both = Logistic.from_doc(dict(doc["with_embedding"]), "hat artefact (with_embedding)",
                                 len(image.weights) + dim)
        return cls(str(doc["version"]), tuple(str(m) for m in doc["measures"]), tuple(float(v) for v in doc["window"]),
                   doc["hog"], image, str(doc["embedder"]), dim, both, dict(doc["provenance"]), source)

    def reads(self, embedding: np.ndarray | None, embedder: str | None) -> bool:
        """Whether ``embedding`` (from the network ``embedder``) is one the second model was fitted on."""
        return embedding is not None and embedder == self.embedder and np.asarray(embedding).shape == (self.dim,)

    def score(self, x: np.ndarray, embedding: np.ndarray | None = None, embedder: str | None = None) -> float:
        """Log-odds less the threshold (positive: warn) for image features ``x``: the model with the
        embedding when ``embedding`` comes from ``embedder`` (``reads``), the image model alone otherwise."""
        if self.reads(embedding, embedder):
            return self.with_embedding.score(np.concatenate([np.asarray(x, np.float64),
                                                             np.asarray(embedding, np.float64)]))
        return self.logistic.score(x)

    def log_odds(self, x: np.ndarray, embedding: np.ndarray) -> float:
        """The log-odds of the model with the embedding, its threshold not taken off (``HatTopModel`` adds
        its own to them)."""
        return self.score(x, embedding, self.embedder) + self.with_embedding.threshold


@dataclass(frozen=True, eq=False)
class HatTopModel:
    """The hat model over the network's own activations at the top of its chip (code 8, with ``HatModel``).

    Schema ``facematch-hattop/1``: ``version``; ``base``, the hat artefact's version whose score with the
    embedding it adds to (``hat-v3``); ``embedder``, the network whose inner tensor ``tap`` (of shape
    ``tap_shape``: channels, rows, columns) it reads, computed on the network's own aligned chip of ``chip``
    pixels; ``box`` (x0, x1, y0, y1 in chip pixels), the part of the chip over which each channel is averaged
    (``box_features``); then a logistic model (``mean``, ``scale``, ``weights``, ``bias``) over those averages,
    one per channel, and ``threshold``: the operating point of the sum of the base's log-odds (with the
    embedding) and this model's; then ``provenance``. Fitted by ``tools/fit_hat_top.py``.
    """

    KIND: ClassVar[str] = "hattop"
    SCHEMA: ClassVar[str] = "facematch-hattop/1"

    version: str
    base: str
    embedder: str
    tap: str
    tap_shape: tuple[int, int, int]
    chip: int
    box: tuple[float, float, float, float]
    logistic: Logistic  # its threshold is the sum's
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> HatTopModel:
        what = f"{cls.KIND} artefact"
        shape = tuple(int(v) for v in doc["tap_shape"])
        box = tuple(float(v) for v in doc["box"])
        chip = int(doc["chip"])
        if len(shape) != 3 or min(shape) <= 0 or chip <= 0:
            raise ValueError(f"{what}: tap_shape needs 3 positive sizes and chip a positive size")
        if len(box) != 4 or not 0 <= box[0] < box[1] <= chip or not 0 <= box[2] < box[3] <= chip:
            raise ValueError(f"{what}: box must be (x0, x1, y0, y1) inside the chip")
        logistic = Logistic.from_doc(doc, what, shape[0])
        return cls(str(doc["version"]), str(doc["base"]), str(doc["embedder"]), str(doc["tap"]),
                   (shape[0], shape[1], shape[2]), chip, (box[0], box[1], box[2], box[3]), logistic,
                   dict(doc["provenance"]), source)

    def reads(self, embedder: str | None, taps: dict[str, np.ndarray] | None) -> bool:
        """Whether ``taps`` (from the network ``embedder``) hold the tensor this model was fitted on."""
        return holds_tensor(embedder, taps, self.embedder, self.tap, self.tap_shape)

    def score(self, base_log_odds: float, taps: dict[str, np.ndarray]) -> float:
        """The base model's log-odds (with the embedding, threshold not taken off) plus this model's, of the
        tensor in ``taps`` (``reads`` must hold; averaged over its ``views``, the chip's own run and its mirror
        image's), less the threshold of the sum (positive: warn)."""
        return base_log_odds + float(np.mean([self.logistic.score(box_features(v, self.box, self.chip))
                                              for v in views(taps[self.tap])]))


def box_features(tap: np.ndarray, box: tuple[float, float, float, float], chip: int) -> np.ndarray:
    """Each channel of the network's inner tensor ``tap`` (channels x rows x columns over its ``chip``-pixel
    chip) averaged over the cells that ``box`` (x0, x1, y0, y1, chip pixels) covers (at least one cell)."""
    _, h, w = tap.shape
    x0, x1 = int(np.floor(box[0] * w / chip)), int(np.ceil(box[1] * w / chip))
    y0, y1 = int(np.floor(box[2] * h / chip)), int(np.ceil(box[3] * h / chip))
    x0, y0 = min(max(0, x0), w - 1), min(max(0, y0), h - 1)
    cells = np.asarray(tap[:, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)], np.float64)
    return np.asarray(cells.mean(axis=(1, 2)), np.float64)
