"""The v2 response envelope (``contract.models.Envelope``) of a match or of an error.

Extensions an old client cannot notice sit beside the contract's fields in
``data`` (``models.MatchData`` lists them all): ``warnings`` (every finding),
``face1_box``/``face2_box``, ``distance``, ``calibration``, ``network``,
``request_id`` and, with ``type1=chip``, ``chip``. Only the fields that apply
are set, and only those are sent (``Envelope.to_json``). The face crops are
encoded here, as JPEG, so that callers that need no envelope
(``facematch eval``) never pay for them.
"""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from facematch.checks import Finding as CheckFinding
from facematch.contract.models import CONTRACT_FIELDS, Envelope, Finding, MatchData
from facematch.errors import FaceMatchError, NoFaceError
from facematch.matcher import ImageAnalysis, MatchResult
from facematch.types import ErrorCode, InvalidCode

#: The face crop in the envelope: at most this many pixels on its long side, JPEG at this quality.
CROP_MAX_SIDE = 320
CROP_JPEG_QUALITY = 90


def encode_crop(crop: np.ndarray) -> str:
    """An RGB face crop as base64 JPEG, shrunk to ``CROP_MAX_SIDE``."""
    side = max(crop.shape[:2])
    if side > CROP_MAX_SIDE:
        f = CROP_MAX_SIDE / side
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, CROP_JPEG_QUALITY])
    if not ok:  # OpenCV encodes any non-empty uint8 RGB array; a crop is never empty
        raise ValueError("face crop could not be encoded")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def _face_fields(analysis: ImageAnalysis | None, n: int) -> dict[str, Any]:
    if analysis is None or analysis.face is None:
        return {}
    f = analysis.face
    return {
        f"face{n}": encode_crop(f.crop),
        f"face{n}_score": f"{f.score:.4f}",
        f"face{n}_box": [round(v) for v in f.box],
    }


def finding(f: CheckFinding) -> Finding:
    """A check's finding as ``data.warnings`` lists it (values rounded to 4 decimals)."""
    return Finding(code=str(int(f.code)), message=f.message, check=f.check, image=f.image,
                   value=None if f.value is None else round(float(f.value), 4),
                   limit=None if f.limit is None else round(float(f.limit), 4))


def success(result: MatchResult, request_id: str) -> Envelope:
    code = result.invalid_code
    data = MatchData(
        matching=f"{result.matching:.2f}",
        match=str(result.match),
        invalidCode=str(int(code)),
        invalidMessage=code.message,
        **_face_fields(result.image1, 1),
        **_face_fields(result.image2, 2),
        warnings=[finding(f) for f in result.findings],
        distance=f"{result.distance:.4f}",
        calibration=result.calibration_version,
        network=result.network,
        request_id=request_id,
        **({} if result.chip is None else {"chip": result.chip.result()}),
    )
    return Envelope.of(ErrorCode.SUCCESS, data)


def failure(error: FaceMatchError, request_id: str) -> Envelope:
    fields: dict[str, Any] = dict.fromkeys(CONTRACT_FIELDS, "")
    if isinstance(error, NoFaceError) and error.partial:
        for n, analysis in enumerate(error.partial, start=1):
            fields.update(_face_fields(analysis, n))
        fields["warnings"] = [finding(f) for a in error.partial for f in a.findings]
    if error.invalid_code is not InvalidCode.OK:
        fields["invalidCode"] = str(int(error.invalid_code))
        fields["invalidMessage"] = error.invalid_code.message
    fields["request_id"] = request_id
    return Envelope.of(error.code, MatchData(**fields))
