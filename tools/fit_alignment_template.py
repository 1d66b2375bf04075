"""Fits ``DLIB5_IN_ARCFACE112`` (``facematch.models.alignment``): where dlib's
five points (eye corners, nose base) fall, on average, in the frame of the
ArcFace / InsightFace 112x112 five-point template (eye centres, nose tip,
mouth corners).

    nice .venv/bin/python -m tools.fit_alignment_template [--lfw-every 10] \
        [--out benchmarks/results/alignment_template.json]

On each face: ArcFace's five points from MediaPipe's 468-point face mesh (the
detector's ``Detection.mesh``; eye centre = centroid of the 16-point eye
contour, nose tip = point 1, mouth corners = 61 and 291), dlib's five points
from its 5-point predictor on the detector box (as the service does); the
least-squares similarity sending the mesh's five points onto ``ARCFACE112``
is applied to dlib's points, and the template is the per-coordinate median
over the faces. Faces: the astronaut (scikit-image) and transformed copies
(mirrored, rotated, scaled), and one image of every ``--lfw-every``-th person
of ``../shared/data/lfw`` when that folder exists (read only; the script says
when it does not).

Quality, on held-out faces (the odd-numbered ones, with a template fitted on
the even-numbered ones): aligning by our points to the template puts
ArcFace's five mesh points at some distance from where aligning by those five
points themselves would put them; the mean and 90th percentile of that
distance (112-px chip) are reported, next to how far the mesh's own points
are from the template after their best fit (the spread of faces).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import dlib
import numpy as np
import skimage.data

from benchmarks.machine import write_result
from facematch.models import weights
from facematch.models.alignment import ARCFACE112, similarity, transform
from facematch.models.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFace
from facematch.models.detector import FaceDetector
from facematch.models.dlib_models import dlib_rect
from facematch.models.facemesh import FaceMesh

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "lfw" / "images"

#: Face-mesh indices (MediaPipe's canonical mesh). "Right" in MediaPipe is the
#: person's right: the eye on the image's left.
EYE_IMAGE_LEFT = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
EYE_IMAGE_RIGHT = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
NOSE_TIP, MOUTH_IMAGE_LEFT, MOUTH_IMAGE_RIGHT = 1, 61, 291


def mesh_five(points: np.ndarray) -> np.ndarray:
    xy = points[:, :2]
    return np.array([xy[EYE_IMAGE_LEFT].mean(0), xy[EYE_IMAGE_RIGHT].mean(0), xy[NOSE_TIP],
                     xy[MOUTH_IMAGE_LEFT], xy[MOUTH_IMAGE_RIGHT]], dtype=np.float32)


def generated() -> list[tuple[str, np.ndarray]]:
    img = skimage.data.astronaut()
    h, w = img.shape[:2]
    out = [("astronaut", img), ("astronaut-mirror", np.ascontiguousarray(img[:, ::-1]))]
    for angle in (-12, -6, 6, 12):
        m = cv2.getRotationMatrix2D((w / 2, h / 3), angle, 1.0)
        out.append((f"astronaut-rot{angle}", cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)))
    for scale in (0.5, 0.35):
        out.append((f"astronaut-x{scale}", cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)))
    return out


def lfw(every: int) -> list[tuple[str, np.ndarray]]:
    if every <= 0:
        return []
    if not LFW.is_dir():
        print(f"{LFW} not found: fitting on the generated images only", file=sys.stderr)
        return []
    out = []
    for person in sorted(p for p in LFW.iterdir() if p.is_dir())[::every]:
        first = min(person.glob("*.jpg"))
        bgr = cv2.imread(str(first), cv2.IMREAD_COLOR)
        if bgr is not None:
            out.append((f"lfw/{first.name}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw-every", type=int, default=10, help="0: the generated images only")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "alignment_template.json")
    args = ap.parse_args()

    detector = FaceDetector(BlazeFace(weights.BLAZEFACE_SHORT.path(), SHORT_RANGE),
                            BlazeFace(weights.BLAZEFACE_FULL.path(), FULL_RANGE), FaceMesh(weights.FACE_MESH.path()))
    predictor = dlib.shape_predictor(str(weights.DLIB_LANDMARKS_5.path()))
    ours, meshes, names, skipped = [], [], [], 0
    for name, rgb in generated() + lfw(args.lfw_every):
        dets = detector.detect(rgb)
        mesh = getattr(dets[0], "mesh", None) if dets else None
        if mesh is None or mesh.face_score < 0.9:
            skipped += 1
            continue
        shape = predictor(rgb, dlib_rect(dets[0].box))
        ours.append(np.array([[p.x, p.y] for p in shape.parts()], np.float32))
        meshes.append(mesh_five(mesh.points))
        names.append(name)
    ours_a, meshes_a = np.stack(ours), np.stack(meshes)
    fits = [similarity(m, ARCFACE112) for m in meshes_a]
    mapped = np.stack([transform(o, f) for o, f in zip(ours_a, fits, strict=True)])
    mesh_residual = np.stack([np.linalg.norm(transform(m, f) - ARCFACE112, axis=1) for m, f in zip(meshes_a, fits, strict=True)])

    even, odd = np.arange(0, len(mapped), 2), np.arange(1, len(mapped), 2)
    template_even = np.median(mapped[even], axis=0).astype(np.float32)
    held_out = []
    for i in odd:
        m, _ = cv2.estimateAffinePartial2D(ours_a[i], template_even, method=cv2.LMEDS)
        m = similarity(ours_a[i], template_even) if m is None else m
        held_out.append(np.linalg.norm(transform(meshes_a[i], m) - transform(meshes_a[i], fits[i]), axis=1))
    held = np.stack(held_out)

    template = np.median(mapped, axis=0).astype(np.float64)

    def r(a: np.ndarray, digits: int = 3) -> list:
        return np.round(np.asarray(a, np.float64), digits).tolist()
    result = {
        "faces": len(mapped), "skipped": skipped, "lfw": LFW.is_dir(), "lfw_every": args.lfw_every,
        "template": r(template, 4),
        "spread_std_px": r(mapped.std(axis=0)),
        "mesh_fit_residual_px": {"mean": round(float(mesh_residual.mean()), 3),
                                 "p90": round(float(np.percentile(mesh_residual, 90)), 3)},
        "held_out": {"faces": len(odd), "mean_px": round(float(held.mean()), 3),
                     "p90_px": round(float(np.percentile(held, 90)), 3),
                     "per_point_mean_px": r(held.mean(axis=0))},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result, indent=1)
    print(json.dumps(result, indent=1))
    print("DLIB5_IN_ARCFACE112 = np.array([" + ", ".join(f"[{x:.4f}, {y:.4f}]" for x, y in template) + "], ...)")


if __name__ == "__main__":
    main()
