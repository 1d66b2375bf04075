"""The hat model's weights (code 8, ``checks.occlusion.hat``).

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
