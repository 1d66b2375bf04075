"""The occlusion models of ``checks.occlusion`` (the mask model, code 9).

Schema ``facematch-occlusion/1``: ``version``; ``embedder``, the network
whose own embeddings (before any adaptation) they were fitted on, and its
``dim`` (another network's embeddings mean nothing to them); ``rule_features``,
the names of the rule measures they may read (``occlusion.RULE_FEATURES``);
per warning in ``models`` (``"mask"``) a logistic model:
which inputs it reads (``embedding``, ``rules``: booleans, in that order),
their standardisation (``mean``, ``scale``), ``weights``, ``bias`` and
``threshold`` (its operating point, log-odds); then ``provenance``. Fitted by
``tools/fit_occlusion.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from facematch.artifacts import Source
from facematch.artifacts.logistic import Logistic


@dataclass(frozen=True, eq=False)
class Linear:
    embedding: bool  # reads the embedding
    rules: bool  # reads the rule measures (after the embedding)
    logistic: Logistic

    def score(self, embedding: np.ndarray, rules: np.ndarray | None) -> float:
        """Log-odds less the threshold (positive: warn) for the face's
        ``embedding`` and rule measures ``rules`` (may be None when not read)."""
        parts = ([np.asarray(embedding, np.float64)] if self.embedding else []) + (
            [np.asarray(rules, np.float64)] if self.rules else [])
        return self.logistic.score(np.concatenate(parts))


@dataclass(frozen=True, eq=False)
class OcclusionModel:
    KIND: ClassVar[str] = "occlusion"
    SCHEMA: ClassVar[str] = "facematch-occlusion/1"

    version: str
    embedder: str
    dim: int
    rule_features: tuple[str, ...]
    models: dict[str, Linear]
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> OcclusionModel:
        dim = int(doc["dim"])
        names = tuple(str(n) for n in doc["rule_features"])
        models = {}
        for name, m in dict(doc["models"]).items():
            emb, rules = bool(m["embedding"]), bool(m["rules"])
            size = dim * emb + len(names) * rules
            models[str(name)] = Linear(emb, rules, Logistic.from_doc(m, f"occlusion artefact: {name}", size))
        return cls(str(doc["version"]), str(doc["embedder"]), dim, names, models, dict(doc["provenance"]), source)

    @property
    def reads_rules(self) -> bool:
        return any(m.rules for m in self.models.values())
