"""Adapting the embedding to a deployment's own population.

From labelled identities (one folder per person) a small linear transform of
the embedding is fitted: centre on the population's mean, whiten the
within-person covariance (WCCN, shrunk towards a multiple of the identity so
that a few hundred images suffice), optionally keep the ``lda_dims`` most
discriminant directions (LDA), and length-normalise. Distances between the
transformed unit vectors replace the raw ones, so the calibration is refitted
on top - on distances of people the transform was not fitted on (cross-fitted
over identity folds), with the conservative rule of
``facematch.fit.population``.

The artefact is a versioned JSON file with its provenance; nothing fitted on
data with research-only terms ships inside the package.

Folder layout read by ``adapt_main``: ``ROOT/<person>/<image>``; an image
whose file name starts with ``card`` is a photographed ID card (embedded as a
card and paired with the person's other photos), every other image is a
portrait. ``ROOT`` may instead be a pair list (``path1 path2 label``), whose
paths name the person folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facematch.artifacts.adaptation import Adaptation
from facematch.fit import population as pop
from facematch.imaging.decode import IMAGE_SUFFIXES

Array = npt.NDArray[np.float64]

METHOD = "wccn"  # centre, within-class whitening (shrunk), optional LDA, length norm
DEFAULT_SHRINKAGE = 0.5
#: Identities in each fold of the cross-fitted calibration, at least (impostor pairs need two).
MIN_PEOPLE_PER_FOLD = 2

Embed = Callable[[list[str], str], dict[str, "npt.NDArray[np.floating[Any]] | None"]]


def fit(vectors: npt.ArrayLike, labels: Sequence[str], *, shrinkage: float = DEFAULT_SHRINKAGE,
        lda_dims: int | None = None, version: str = "adapted", provenance: dict[str, Any] | None = None) -> Adaptation:
    """Fit the transform on ``vectors`` (n, d) labelled by identity. Rows that
    are not finite are ignored. A person with a single image adds to the
    mean and to the between-person spread, not to the within-person one."""
    x_all = np.asarray(vectors, dtype=np.float64)
    if x_all.ndim != 2 or len(labels) != len(x_all):
        raise ValueError("vectors must be (n, d) with one label per row")
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError("shrinkage must lie in [0, 1]")
    ok = np.all(np.isfinite(x_all), axis=1)
    x = x_all[ok]
    lab = np.array(labels, dtype=object)[ok]
    d = x.shape[1]
    classes = sorted(set(lab.tolist()))
    mu = x.mean(axis=0) if len(x) else np.zeros(d)
    sw = np.zeros((d, d))
    dof = 0
    means = []
    for c in classes:
        xc = x[lab == c]
        mc = xc.mean(axis=0)
        means.append(mc)
        if len(xc) > 1:
            r = xc - mc
            sw += r.T @ r
            dof += len(xc) - 1
    if dof == 0:
        raise ValueError("no person has two usable images: nothing to learn the within-person spread from")
    sw /= dof
    scale = float(np.trace(sw)) / d
    sw = (1.0 - shrinkage) * sw + shrinkage * scale * np.eye(d)
    w_val, w_vec = np.linalg.eigh(sw)
    w_val = np.maximum(w_val, 1e-12 * max(scale, 1e-12))
    whiten = w_vec @ np.diag(w_val ** -0.5) @ w_vec.T * np.sqrt(scale)  # keeps the overall scale
    proj = whiten
    if lda_dims is not None:
        if not 1 <= lda_dims <= min(d, len(classes) - 1):
            raise ValueError(f"lda_dims must lie in [1, {min(d, len(classes) - 1)}] for {len(classes)} people")
        m = (np.array(means) - mu) @ whiten
        sb = m.T @ m / len(classes)
        b_val, b_vec = np.linalg.eigh(sb)
        proj = whiten @ b_vec[:, np.argsort(b_val)[::-1][:lda_dims]]
    prov = {"method": METHOD, "shrinkage": shrinkage, "lda_dims": lda_dims,
            "fitted_on": {"people": len(classes), "images": int(len(x)), "images_ignored": int((~ok).sum()),
                          "people_with_one_image": int(sum(1 for c in classes if np.sum(lab == c) == 1))},
            **(provenance or {})}
    return Adaptation(version, mu, proj, prov)


def transform_fit(shrinkage: float = DEFAULT_SHRINKAGE, lda_dims: int | None = None) -> pop.TransformFit:
    """A fitting function for ``facematch.fit.population.held_out``."""

    def fit_samples(s: pop.Samples) -> pop.Transform:
        dims = None if lda_dims is None else min(lda_dims, len(s.identities()) - 1)
        return fit(s.vectors, s.identity, shrinkage=shrinkage, lda_dims=dims).apply

    return fit_samples


def fit_calibration(samples: pop.Samples, *, shrinkage: float = DEFAULT_SHRINKAGE, lda_dims: int | None = None,
                    inner: int = 5, seed: int = 0, model: str, data: str, command: str, version: str,
                    adaptation_ref: dict[str, Any] | None = None) -> dict[str, Any]:
    """The calibration to use on top of the adaptation: thresholds fitted on
    adapted distances of people that each transform did not see (the
    identities split into ``inner`` folds)."""
    types = [t for t in pop.PAIR_TYPES if len(pop.pairs(samples, t)[0])]
    tf = transform_fit(shrinkage, lda_dims)
    inner = max(2, min(inner, len(samples.identities()) // MIN_PEOPLE_PER_FOLD))
    imp = pop.cross_fitted_impostors(samples, tf, types, inner, seed)
    gen = pop.cross_fitted_genuine(samples, tf, types, inner, seed)
    return pop.fit_conservative(np.concatenate(list(gen.values())), imp, model=model, data=data, command=command,
                                version=version, extra={"adaptation": adaptation_ref} if adaptation_ref else None)


def read_identities(root: Path) -> list[tuple[str, str, str]]:
    """``(path, person, kind)`` for a folder of person folders or a pair list."""
    root = Path(root)
    if root.is_file():
        seen: dict[str, None] = {}
        for a, b, _ in pop.read_pairs(root):
            seen[a] = None
            seen[b] = None
        files = [root.parent / p for p in seen]
    else:
        files = sorted(p for p in root.glob("*/*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [(str(p), p.parent.name, pop.CARD if p.name.lower().startswith("card") else pop.PHOTO) for p in files]


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def adapt_main(root: Path, out: Path, embed: Embed, *, command: str,
               model: str = "dlib_face_recognition_resnet_model_v1", shrinkage: float = DEFAULT_SHRINKAGE,
               lda_dims: int | None = None, folds: int = 5,
               version: str | None = None) -> dict[str, Any]:
    """Fit the adaptation on the identities under ``root``, write
    ``<out>/adaptation.json`` and ``<out>/calibration.json`` (its refitted
    calibration), and return a summary with the held-out check: the same
    fit made on ``folds - 1`` identity folds and measured on the last, with
    and without the adaptation. ``embed(paths, kind)`` (kind "portrait" or
    "card") returns an embedding or None per path."""
    items = read_identities(root)
    if not items:
        raise ValueError(f"no images under {root}")
    vectors: dict[str, Any] = {}
    for kind, emb_kind in ((pop.PHOTO, "portrait"), (pop.CARD, "card")):
        paths = [p for p, _, k in items if k == kind]
        if paths:
            vectors.update(embed(paths, emb_kind))
    dims = next((len(v) for v in vectors.values() if v is not None), None)
    if dims is None:
        raise ValueError("no face found in any image")
    samples = pop.Samples.build(((person, path, kind, vectors.get(path)) for path, person, kind in items), dims)
    people = samples.identities()
    if len(people) < 2 * MIN_PEOPLE_PER_FOLD:
        raise ValueError(f"{len(people)} people with a face under {root}: adapt needs at least "
                         f"{2 * MIN_PEOPLE_PER_FOLD} (its calibration is fitted on people each transform did not see)")
    version = version or f"adapted-{dt.date.today().isoformat()}"
    data = f"{root} ({len(people)} people, {len(items)} images)"
    prov = {"model": model, "data": data, "date": dt.date.today().isoformat(), "command": command}
    adaptation = fit(samples.vectors, samples.identity, shrinkage=shrinkage,
                     lda_dims=None if lda_dims is None else min(lda_dims, len(people) - 1), version=version,
                     provenance=prov)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    adaptation.save(out / "adaptation.json")
    ref = {"file": "adaptation.json", "version": version, "sha256": _sha256(out / "adaptation.json")}
    cal = fit_calibration(samples, shrinkage=shrinkage, lda_dims=lda_dims, model=f"{model} + adaptation {version}",
                          data=data, command=command, version=f"{version}-cal", adaptation_ref=ref)
    (out / "calibration.json").write_text(json.dumps(cal, indent=2) + "\n")
    summary: dict[str, Any] = {"adaptation": str(out / "adaptation.json"), "calibration": str(out / "calibration.json"),
                               "people": len(people), "images": len(items),
                               "no_face": int(np.sum(~np.all(np.isfinite(samples.vectors), axis=1))),
                               "thresholds": {"75": cal["knots"][1][0], "65": cal["knots"][2][0]}}
    if len(people) >= 2 * folds:
        tf = transform_fit(shrinkage, lda_dims)
        base = pop.held_out(samples, k=folds)
        adapted = pop.held_out(samples, k=folds, transform_fit=tf, calibrate_inner=max(2, folds - 1))
        summary["held_out"] = {"without": base["pooled"], "with": adapted["pooled"]}
        key = "tar_at_far_1e-3_mean_of_folds"
        better = all((adapted["pooled"][t][key] or 0.0) >= (base["pooled"][t][key] or 0.0) for t in adapted["pooled"])
        summary["recommended"] = bool(better)
    else:
        summary["held_out"] = None
        summary["recommended"] = None  # too few people to check on held-out folds
    return summary
