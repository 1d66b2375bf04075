"""The hat model's weights (code 8, ``checks.occlusion.hat``).

Schema ``facematch-hat/1``: ``version``, the features it was fitted on
(``measures`` names, the head-top ``window``, the ``hog`` descriptor's
parameters), ``mean`` and ``scale`` (their standardisation), ``weights`` and
``bias`` (a logistic model), ``threshold`` (its operating point) and
``provenance``. Fitted by ``tools/fit_hat.py``; ``checks.occlusion`` refuses
one whose features are not those it computes.
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
    SCHEMA: ClassVar[str] = "facematch-hat/1"

    version: str
    measures: tuple[str, ...]
    window: tuple[float, ...]
    hog: Any  # the HOG descriptor's parameters, as JSON lists
    logistic: Logistic
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> HatModel:
        return cls(str(doc["version"]), tuple(str(m) for m in doc["measures"]), tuple(float(v) for v in doc["window"]),
                   doc["hog"], Logistic.from_doc(doc, "hat artefact"), dict(doc["provenance"]), source)

    def score(self, x: np.ndarray) -> float:
        """The logistic model's log-odds for features ``x``, less the fitted threshold."""
        return self.logistic.score(x)
