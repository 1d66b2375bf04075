"""The v2 response envelope: every contract value a string.

Extensions an old client cannot notice sit beside the contract's fields in
``data``: ``warnings`` (every finding), ``face1_box``/``face2_box``,
``distance``, ``calibration`` and ``request_id``.
"""

from __future__ import annotations

from facematch.checks import INVALID_MESSAGES
from facematch.errors import ERROR_MESSAGES, FaceMatchError
from facematch.pipeline import ImageAnalysis, MatchResult

DATA_FIELDS = ("matching", "face1", "face2", "face1_score", "face2_score", "invalidCode", "invalidMessage", "match")


def _face_fields(analysis: ImageAnalysis | None, n: int) -> dict:
    if analysis is None or analysis.face is None:
        return {}
    f = analysis.face
    return {
        f"face{n}": f.crop_base64(),
        f"face{n}_score": f"{f.score:.4f}",
        f"face{n}_box": [round(v) for v in f.box],
    }


def success(result: MatchResult, request_id: str) -> dict:
    code = result.invalid_code
    data = {
        "matching": f"{result.matching:.2f}",
        "match": str(result.match),
        "invalidCode": str(code),
        "invalidMessage": INVALID_MESSAGES[code],
        **_face_fields(result.image1, 1),
        **_face_fields(result.image2, 2),
        "warnings": [f.as_dict() for f in result.findings],
        "distance": f"{result.distance:.4f}",
        "calibration": result.calibration_version,
        "request_id": request_id,
    }
    return {"data": data, "errorCode": "0", "errorMessage": ERROR_MESSAGES[0]}


def failure(error: FaceMatchError, request_id: str) -> dict:
    data: dict = {name: "" for name in DATA_FIELDS}
    partial = getattr(error, "partial", None)
    if partial:
        for n, analysis in enumerate(partial, start=1):
            data.update(_face_fields(analysis, n))
        data["warnings"] = [f.as_dict() for a in partial for f in a.findings]
    if error.invalid_code:
        data["invalidCode"] = str(error.invalid_code)
        data["invalidMessage"] = INVALID_MESSAGES[error.invalid_code]
    data["request_id"] = request_id
    message = ERROR_MESSAGES.get(error.error_code, error.message)
    return {"data": data, "errorCode": str(error.error_code), "errorMessage": message}
