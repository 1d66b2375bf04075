"""Configured name -> model: the one place that builds models.

Each table maps the value of a ``FACEMATCH_MODELS__*`` setting to a factory;
add a model by adding a line here (and its module). ``build_pool`` builds one
bundle per matching thread, sharing the thread-safe models between them.

==================  ===================  ==========================================
setting             names                what
==================  ===================  ==========================================
``detector``        ``blazeface``        BlazeFace short + full range, verified by the face mesh
``landmarker``      ``dlib-5``           dlib's 5-point shape predictor
``embedder``        ``sface-2021dec``    OpenCV Zoo's SFace (128-D), folded to fp32, under ONNX Runtime, the default
                    ``dlib-resnet-v1``   dlib's ResNet (128-D) under ONNX Runtime
                    ``onnx``             any ONNX face-embedding network (``models.onnx``)
``attack_detector`` ``recapture-v1``     portraits: seven physics features, fitted logistic weights (``models.pad``)
                    ``none``             no model: the recapture check uses its spectral peak only
==================  ===================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from facematch.models import weights
from facematch.models.bundle import ModelBundle, ModelPool
from facematch.models.protocols import AttackDetector, Detector, Embedder, Landmarker
from facematch.settings import ModelSettings

T = TypeVar("T")


def _locate(settings: ModelSettings, w: weights.WeightsFile) -> str:
    return str(w.verified_path() if settings.verify_weights else w.path())


def _blazeface(settings: ModelSettings, copies: int = 1) -> Detector:
    from pathlib import Path

    from facematch.models.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFace
    from facematch.models.detector import FaceDetector
    from facematch.models.facemesh import FaceMesh

    return FaceDetector(BlazeFace(Path(_locate(settings, weights.BLAZEFACE_SHORT)), SHORT_RANGE, copies=copies),
                        BlazeFace(Path(_locate(settings, weights.BLAZEFACE_FULL)), FULL_RANGE, copies=copies),
                        FaceMesh(Path(_locate(settings, weights.FACE_MESH)), copies=copies))


def _dlib5(settings: ModelSettings) -> Landmarker:
    from pathlib import Path

    from facematch.models.dlib_models import Landmarks5

    return Landmarks5(Path(_locate(settings, weights.DLIB_LANDMARKS_5)))


def _dlib_resnet(settings: ModelSettings) -> Embedder:
    from facematch.models.dlib_onnx import OnnxEmbedder

    return OnnxEmbedder(_locate(settings, weights.DLIB_RESNET), mirror=True, arena=settings.onnx_memory_arena)


def _sface(settings: ModelSettings) -> Embedder:
    from facematch.models import sface

    return sface.load(_locate(settings, weights.SFACE), mirror=True, arena=settings.onnx_memory_arena)


def _onnx(settings: ModelSettings) -> Embedder:
    from facematch.models.onnx_embedder import OnnxEmbedderConfig, OnnxFaceEmbedder

    o = settings.onnx
    if o.path is None:
        raise ValueError("FACEMATCH_MODELS__EMBEDDER=onnx needs FACEMATCH_MODELS__ONNX__PATH")
    mean: float | tuple[float, float, float] = o.mean[0] if len(o.mean) == 1 else (o.mean[0], o.mean[1], o.mean[2])
    std: float | tuple[float, float, float] = o.std[0] if len(o.std) == 1 else (o.std[0], o.std[1], o.std[2])
    return OnnxFaceEmbedder(OnnxEmbedderConfig(path=o.path, alignment=o.alignment, size=o.size, layout=o.layout,
                                               channels=o.channels, mean=mean, std=std, mirror=o.mirror,
                                               name=o.name or None), arena=settings.onnx_memory_arena)


def _recapture_v1(settings: ModelSettings) -> AttackDetector | None:
    from facematch.models.pad import RecaptureDetector

    return RecaptureDetector.load()


def _no_attack_detector(settings: ModelSettings) -> AttackDetector | None:
    return None


#: A detector factory's second argument: how many calls it must be able to run at once.
DETECTORS: dict[str, Callable[[ModelSettings, int], Detector]] = {"blazeface": _blazeface}
LANDMARKERS: dict[str, Callable[[ModelSettings], Landmarker]] = {"dlib-5": _dlib5}
EMBEDDERS: dict[str, Callable[[ModelSettings], Embedder]] = {
    "sface-2021dec": _sface, "dlib-resnet-v1": _dlib_resnet, "onnx": _onnx}
ATTACK_DETECTORS: dict[str, Callable[[ModelSettings], AttackDetector | None]] = {
    "recapture-v1": _recapture_v1, "none": _no_attack_detector}


def choose(table: dict[str, T], setting: str, name: str) -> T:
    """``table[name]``, or a configuration error that lists the choices."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"FACEMATCH_MODELS__{setting.upper()}={name!r}: choose one of {sorted(table)}") from None


def detector_copies(size: int) -> int:
    """Copies of each detection model for ``size`` matching threads: half as many, at least one. Detection
    is 11-15 ms of an image's analysis (docs/performance.md), so threads seldom wait for a copy, and each
    copy not made saves 15-20 MiB (BlazeFace's two models and the face mesh, benchmarks/memory.py)."""
    return max(1, (size + 1) // 2)


def build_pool(settings: ModelSettings, size: int) -> ModelPool:
    """``size`` bundles, warmed up, sharing every model: the detector with ``detector_copies(size)``
    interpreters of each of its models, lent one call at a time."""
    size = max(1, size)
    landmarker = choose(LANDMARKERS, "landmarker", settings.landmarker)(settings)
    embedder = choose(EMBEDDERS, "embedder", settings.embedder)(settings)
    attack = choose(ATTACK_DETECTORS, "attack_detector", settings.attack_detector)(settings)
    detector = choose(DETECTORS, "detector", settings.detector)(settings, detector_copies(size))
    bundles = [ModelBundle(detector, landmarker, embedder, attack) for _ in range(size)]
    for b in bundles:
        b.warm_up()
    return ModelPool(bundles)
