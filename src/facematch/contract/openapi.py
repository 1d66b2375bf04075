"""The OpenAPI description of ``/api/v2/ekyc/face_matching``.

The route serves GET and POST from one handler that reads the request itself
(the contract decides the mode from ``format_type`` and the Content-Type), so
FastAPI cannot infer its parameters, and it would give both methods the same
operationId. The route is therefore left out of the generated schema and
described here by hand: a GET operation with the image URLs as query
parameters, and a POST operation whose ``requestBody`` offers both
``multipart/form-data`` (files) and ``application/json`` (base64). Messages and
codes come from ``facematch.types``, so the document cannot drift from what
the service answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi

from facematch.types import ErrorCode, ImageKind, InvalidCode

if TYPE_CHECKING:
    from fastapi import FastAPI

REF = "#/components/schemas/"
SECURITY: list[dict[str, list[str]]] = [{"basicAuth": []}]
_JPEG_B64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHSEaHRwcGhwcICQuJyAiLCMcHCg3KSws..."

TYPE1 = {
    "name": "type1", "in": "query", "required": False,
    "description": "What `img1` is: the ID card photo (`card`, the default), a portrait (`portrait`), or "
                   "(extension) the portrait read from the CCCD's chip (`chip`: the DG2 data group, its ISO/IEC "
                   "19794-5 face record, or the bare image). `img2` is always a portrait.",
    "schema": {"type": "string", "enum": [k.value for k in ImageKind], "default": ImageKind.CARD.value},
}


def _format_type(values: list[str], note: str) -> dict[str, Any]:
    return {
        "name": "format_type", "in": "query", "required": False,
        "description": "How the images are sent; must agree with the request, otherwise errorCode 6. " + note,
        "schema": {"type": "string", "enum": values},
    }


def _url_param(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": True,
        "description": f"URL of {what} (http or https, public address unless allow-listed; "
                       "size and time limited). URL-encode it.",
        "schema": {"type": "string", "format": "uri"},
        "example": f"https://cdn.example.com/{'card' if name == 'img1' else 'selfie'}.jpg",
    }


#: With ``type1=chip``: the chip's EF.SOD and more data groups, as read (docs/chip.md).
CHIP_FIELDS = (("sod", "*Extension*, with type1=chip: the chip's Document Security Object EF.SOD as read (tag "
                       "0x77); img1 must then be the DG2 bytes as read."),
               *((f"dg{n}", f"*Extension*, with type1=chip and sod: data group {n} as read; its hash is checked "
                            "too (never returned or stored).") for n in (1, 13, 14, 15)))

SCHEMAS: dict[str, Any] = {
    "Warning": {
        "type": "object",
        "description": "One finding of a check (extension). `value` was measured, `limit` is the threshold it "
                       "crossed; `message` is the contract's invalidMessage of `code`.",
        "properties": {
            "code": {"type": "string", "enum": [str(int(c)) for c in InvalidCode if c]},
            "message": {"type": "string"},
            "check": {"type": "string", "description": "Name of the check that produced it."},
            "image": {"type": "string", "enum": ["img1", "img2"]},
            "value": {"type": ["number", "null"]},
            "limit": {"type": ["number", "null"]},
        },
        "required": ["code", "message", "check", "image", "value", "limit"],
    },
    "MatchData": {
        "type": "object",
        "description": "Every contract value is a string (empty when not applicable). Fields marked "
                       "*extension* are additions an old client does not see.",
        "properties": {
            "matching": {"type": "string", "description": "Calibrated similarity in percent, two decimals.",
                         "example": "76.60"},
            "match": {"type": "string", "enum": ["1", "0", "-1", ""],
                      "description": "`1` if matching > 75, `0` if in [65, 75], `-1` below 65."},
            "face1": {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/jpeg",
                      "description": "Face crop found in img1, base64 JPEG."},
            "face2": {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/jpeg",
                      "description": "Face crop found in img2, base64 JPEG."},
            "face1_score": {"type": "string", "description": "Detector confidence of face1, 0-1."},
            "face2_score": {"type": "string", "description": "Detector confidence of face2, 0-1."},
            "invalidCode": {"type": "string", "enum": [str(int(c)) for c in InvalidCode] + [""],
                            "description": "The most severe warning: "
                                           + "; ".join(f"{int(c)} = {c.message}" for c in InvalidCode)},
            "invalidMessage": {"type": "string", "description": "The contract's message for invalidCode."},
            "warnings": {"type": "array", "items": {"$ref": REF + "Warning"},
                         "description": "*Extension*: every finding, not only the one reported as invalidCode."},
            "face1_box": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
                          "description": "*Extension*: face box in img1, (x1, y1, x2, y2) pixels."},
            "face2_box": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
                          "description": "*Extension*: face box in img2, (x1, y1, x2, y2) pixels."},
            "distance": {"type": "string", "description": "*Extension*: embedding distance behind `matching`."},
            "calibration": {"type": "string", "description": "*Extension*: version of the distance-to-percent map."},
            "network": {"type": "string", "description": "*Extension*: the embedding network behind `distance` "
                                                         "(`sface-2021dec` by default, `dlib-resnet-v1`)."},
            "request_id": {"type": "string", "description": "*Extension*: also in the X-Request-ID header."},
            "chip": {"$ref": REF + "ChipVerification"},
        },
        "required": ["matching", "face1", "face2", "face1_score", "face2_score", "invalidCode", "invalidMessage",
                     "match"],
    },
    "Envelope": {
        "type": "object",
        "properties": {
            "data": {"$ref": REF + "MatchData"},
            "errorCode": {"type": "string", "enum": [str(int(c)) for c in ErrorCode],
                          "description": "; ".join(f"{int(c)} = {c.message}" for c in ErrorCode if c < 100)
                          + "; not v2 codes: 429 = too many failed authentications from this address, "
                            "500 = internal error, 503 = service unavailable"},
            "errorMessage": {"type": "string"},
        },
        "required": ["data", "errorCode", "errorMessage"],
    },
    "ChipVerification": {
        "type": "object",
        "description": "*Extension*, with `type1=chip`: passive authentication of the chip's data (ICAO 9303 part "
                       "11) against the configured CSCAs. Every status but `valid` and `not_checked` adds a "
                       "warning with code 3; `not_checked` adds the warning `chip_not_verified` (listed, never the "
                       "reported invalidCode).",
        "properties": {
            "verified": {"type": "boolean"},
            "status": {"type": "string", "enum": ["valid", "not_checked", "hash_mismatch", "bad_signature",
                                                  "untrusted_signer", "expired", "revoked", "malformed"]},
            "signer": {"type": "string", "description": "Subject of the document signer certificate."},
            "issuer": {"type": "string", "description": "Subject of the country signing CA that issued it."},
            "dataGroups": {"type": "object", "additionalProperties": {"type": "boolean"},
                           "description": "Whether each data group given (DG2, and DG1/13/14/15 when sent) "
                                          "matched its hash in the SOD."},
        },
        "required": ["verified", "status"],
    },
    "Base64Images": {
        "type": "object",
        "description": "Both images as base64 strings. Newlines (as `base64.encodebytes` writes them), a "
                       "`data:image/...;base64,` prefix, the URL-safe alphabet and missing padding are accepted.",
        "properties": {
            "img1": {"type": "string", "contentEncoding": "base64", "description": "The ID card photo (or a "
                     "portrait, see type1)."},
            "img2": {"type": "string", "contentEncoding": "base64", "description": "The portrait."},
            **{name: {"type": "string", "contentEncoding": "base64", "description": what}
               for name, what in CHIP_FIELDS},
        },
        "required": ["img1", "img2"],
    },
    "ImageFiles": {
        "type": "object",
        "properties": {
            "img1": {"type": "string", "format": "binary", "description": "The ID card photo (or a portrait, "
                     "see type1): JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG 2000, HEIC/HEIF or AVIF; with type1=chip also "
                     "the chip's DG2 bytes."},
            "img2": {"type": "string", "format": "binary", "description": "The portrait."},
            **{name: {"type": "string", "format": "binary", "description": what} for name, what in CHIP_FIELDS},
        },
        "required": ["img1", "img2"],
    },
}


def _blank_data(**values: Any) -> dict[str, Any]:
    data = {k: "" for k in ("matching", "face1", "face2", "face1_score", "face2_score", "invalidCode",
                            "invalidMessage", "match")}
    data.update(values)
    data["request_id"] = "3f0c9a1e5b7d4c2a9e8f1b6d0a4c7e21"
    return data


def _error(code: ErrorCode, summary: str, **data: Any) -> dict[str, Any]:
    return {"summary": summary, "value": {"data": _blank_data(**data), "errorCode": str(int(code)),
                                          "errorMessage": code.message}}


SUCCESS_EXAMPLE: dict[str, Any] = {
    "data": {
        "matching": "76.60", "match": "1", "face1": _JPEG_B64, "face2": _JPEG_B64,
        "face1_score": "0.9357", "face2_score": "0.9422", "invalidCode": "0", "invalidMessage": InvalidCode.OK.message,
        "warnings": [], "face1_box": [174, 70, 279, 175], "face2_box": [239, 82, 333, 176],
        "distance": "0.2088", "calibration": "asia-v2", "request_id": "3f0c9a1e5b7d4c2a9e8f1b6d0a4c7e21",
    },
    "errorCode": "0", "errorMessage": ErrorCode.SUCCESS.message,
}
WARNING_EXAMPLE = {
    "data": {
        **SUCCESS_EXAMPLE["data"], "matching": "71.50", "match": "0", "invalidCode": "11",
        "invalidMessage": InvalidCode.FACE_TOO_SMALL.message,
        "warnings": [{"code": "11", "message": InvalidCode.FACE_TOO_SMALL.message, "check": "face_too_small",
                      "image": "img2",
                      "value": 0.08, "limit": 0.12}],
    },
    "errorCode": "0", "errorMessage": ErrorCode.SUCCESS.message,
}
_HEADERS = {
    "X-Request-ID": {"description": "Id of this request, also in `data.request_id` and the service's logs.",
                     "schema": {"type": "string"}},
}


def _response(description: str, examples: dict[str, dict[str, Any]],
              extra_headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_HEADERS, **(extra_headers or {})},
        "content": {"application/json": {"schema": {"$ref": REF + "Envelope"}, "examples": examples}},
    }


def responses(method: str) -> dict[str, Any]:
    """Every HTTP status the route answers for ``method``; with
    FACEMATCH_LEGACY_HTTP_200 all of them are sent as 200 instead."""
    bad_request = {"no_content": _error(ErrorCode.NO_CONTENT, "errorCode 1: an image is missing, empty or unreadable"),
                   "format_type": _error(ErrorCode.FORMAT_TYPE,
                                         "errorCode 6: format_type or type1 does not agree with the request")}
    if method == "get":
        bad_request = {"url_unavailable": _error(ErrorCode.URL_UNAVAILABLE,
                                                 "errorCode 2: an image URL could not be fetched or was refused"),
                       "format_type": bad_request["format_type"]}
    out = {
        "200": _response("Matched (errorCode 0), with the most severe warning in invalidCode and every finding "
                         "in warnings.", {"match": {"summary": "same person", "value": SUCCESS_EXAMPLE},
                                          "warning": {"summary": "with a warning", "value": WARNING_EXAMPLE}}),
        "400": _response("errorCode 1, 2 or 6.", bad_request),
        "401": _response("errorCode 5: missing or wrong credentials.",
                         {"auth": _error(ErrorCode.AUTH, "errorCode 5: bad credentials")},
                         {"WWW-Authenticate": {"schema": {"type": "string"},
                                               "description": 'Basic realm="facematch"'}}),
        "413": _response("errorCode 1: the request body is larger than FACEMATCH_LIMITS__MAX_BODY_BYTES.",
                         {"too_large": _error(ErrorCode.NO_CONTENT, "errorCode 1: body too large")}),
        "422": _response("errorCode 3: an image has no face (invalidCode 4 for the card, 5 for the portrait; the "
                         "other image's face crop is returned).",
                         {"no_face": _error(ErrorCode.NO_FACE, "errorCode 3: no face in the portrait", invalidCode="5",
                                            invalidMessage=InvalidCode.NO_FACE_PORTRAIT.message, face1=_JPEG_B64,
                                            face1_score="0.9357",
                                            face1_box=[174, 70, 279, 175])}),
        "429": _response("errorCode 4: the key's quota is used up (only successful requests count); or errorCode "
                         "429: too many failed authentications from this address (with Retry-After).",
                         {"quota": _error(ErrorCode.QUOTA_EXCEEDED, "errorCode 4: out of requests"),
                          "auth_rate_limited": _error(ErrorCode.RATE_LIMITED, "too many failed authentications")},
                         {"Retry-After": {"schema": {"type": "integer"},
                                          "description": "Seconds to wait (failed-authentication limit only)."}}),
        "500": _response("Unexpected failure; logged with the request id, never a traceback.",
                         {"internal": _error(ErrorCode.INTERNAL, "internal error")}),
        "503": _response("Overloaded, past the request deadline, or the database is unreachable: retry later.",
                         {"unavailable": _error(ErrorCode.UNAVAILABLE, "service unavailable")},
                         {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}),
    }
    if method == "get":
        del out["413"]
    return out


def path_item() -> dict[str, Any]:
    common = "Authentication: HTTP Basic, user = api_key, password = api_secret. Only successful requests " \
             "(errorCode 0) count against the key's quota."
    return {
        "get": {
            "operationId": "faceMatchingUrls",
            "summary": "Match two images given by URL",
            "description": "Mode 1 of the v2 contract: `format_type=url`; the service downloads both images. "
                           + common,
            "tags": ["face_matching"],
            "security": SECURITY,
            "parameters": [_url_param("img1", "the ID card photo (or a portrait, see type1)"),
                           _url_param("img2", "the portrait"), TYPE1,
                           _format_type(["url"], "For GET: `url` (the default when omitted).")],
            "responses": responses("get"),
        },
        "post": {
            "operationId": "faceMatchingUpload",
            "summary": "Match two uploaded images (multipart files or base64 JSON)",
            "description": "Modes 2 and 3 of the v2 contract: `format_type=file` with a `multipart/form-data` body "
                           "holding the files `img1` and `img2`, or `format_type=base64` with an `application/json` "
                           "body `{\"img1\": \"<base64>\", \"img2\": \"<base64>\"}`. " + common,
            "tags": ["face_matching"],
            "security": SECURITY,
            "parameters": [TYPE1, _format_type(
                ["file", "base64"], "For POST: `file` with multipart/form-data, `base64` with application/json "
                "(inferred from the Content-Type when omitted).")],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {"$ref": REF + "ImageFiles"},
                        "encoding": {"img1": {"contentType": "image/*"}, "img2": {"contentType": "image/*"}},
                    },
                    "application/json": {
                        "schema": {"$ref": REF + "Base64Images"},
                        "examples": {
                            "plain": {"summary": "base64", "value": {"img1": _JPEG_B64, "img2": _JPEG_B64}},
                            "data_url": {"summary": "data URL prefix", "value": {
                                "img1": "data:image/jpeg;base64," + _JPEG_B64,
                                "img2": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA..."}},
                        },
                    },
                },
            },
            "responses": responses("post"),
        },
    }


def install(app: FastAPI, path: str) -> None:
    """Serve the hand-written description of ``path`` in ``/openapi.json`` (and so ``/docs``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                             description=app.description, routes=app.routes, servers=app.servers)
        schema.setdefault("paths", {})[path] = path_item()
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(SCHEMAS)
        components.setdefault("securitySchemes", {})["basicAuth"] = {
            "type": "http", "scheme": "basic", "description": "user = api_key, password = api_secret"}
        schema.setdefault("tags", []).append({
            "name": "face_matching",
            "description": "The v2 face_matching contract: an ID card (CMND/CCCD) photo against a live portrait."})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
