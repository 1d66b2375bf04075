"""The adaptation: a linear transform of the embedding fitted on a
deployment's own population (``facematch adapt``, fitted by
``facematch.fit.adaptation``).

Schema ``facematch-adaptation/1``: ``version``, ``dims`` (``in``, ``out``),
``mean`` (in), ``projection`` (in x out) and the provenance (method,
shrinkage, model, data, date, command, ``fitted_on``). Serving centres the
embedding on ``mean``, projects it and length-normalises it; the calibration
written with it records its version and sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from facematch.artifacts import Source

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Adaptation:
    KIND: ClassVar[str] = "adaptation"
    SCHEMA: ClassVar[str] = "facematch-adaptation/1"

    version: str
    mean: Array  # (dims_in,)
    projection: Array  # (dims_in, dims_out)
    provenance: dict[str, Any]
    source: Source | None = field(default=None, compare=False)

    @property
    def dims_in(self) -> int:
        return int(self.projection.shape[0])

    @property
    def dims_out(self) -> int:
        return int(self.projection.shape[1])

    def apply(self, vectors: npt.ArrayLike) -> Array:
        """Transformed unit vectors, one per row (a 1-D input gives a 1-D
        output). Rows that are not finite (no face) stay NaN."""
        v = np.asarray(vectors, dtype=np.float64)
        one = v.ndim == 1
        v2 = v[None, :] if one else v
        if v2.ndim != 2 or v2.shape[1] != self.dims_in:
            raise ValueError(f"adaptation {self.version} takes {self.dims_in}-D embeddings, got shape {v.shape}")
        y = (v2 - self.mean) @ self.projection
        norm = np.linalg.norm(y, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: Array = np.where(norm > 1e-12, y / norm, np.nan)
        return out[0] if one else out

    def to_doc(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA, "version": self.version, **self.provenance,
                "dims": {"in": self.dims_in, "out": self.dims_out},
                "mean": [round(float(x), 9) for x in self.mean],
                "projection": [[round(float(x), 9) for x in row] for row in self.projection]}

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_doc(), indent=1) + "\n")

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source | None = None) -> Adaptation:
        if doc.get("schema") != cls.SCHEMA:
            raise ValueError(f"not a facematch adaptation (schema {doc.get('schema')!r}, expected {cls.SCHEMA!r})")
        mean = np.asarray(doc["mean"], dtype=np.float64)
        proj = np.asarray(doc["projection"], dtype=np.float64)
        dims = doc.get("dims", {})
        if (proj.ndim != 2 or mean.shape != (proj.shape[0],) or dims.get("in") != proj.shape[0]
                or dims.get("out") != proj.shape[1] or not np.all(np.isfinite(proj)) or not np.all(np.isfinite(mean))):
            raise ValueError(f"adaptation {doc.get('version')!r}: mean, projection and dims do not agree")
        skip = {"schema", "version", "dims", "mean", "projection"}
        return cls(str(doc["version"]), mean, proj, {k: v for k, v in doc.items() if k not in skip}, source)

    def check_dims(self, dims: int) -> None:
        """Raise when the embedding network's output size is not the one fitted on."""
        if dims != self.dims_in:
            raise ValueError(f"adaptation {self.version} was fitted on {self.dims_in}-D embeddings; "
                             f"the embedding network gives {dims}-D")
