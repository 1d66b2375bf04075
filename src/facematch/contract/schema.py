"""``/openapi.json`` from the contract's models (``contract.models``).

The route serves GET and POST from one handler that reads the request itself
(the contract decides the mode from ``format_type`` and the Content-Type, and
credentials are checked before anything else is looked at), so FastAPI must
not parse the parameters. The two operations are declared with FastAPI's own
``responses=`` (the ``Envelope`` model for every status) and ``openapi_extra``
generated here from the request models: the query parameters from
``UrlQuery``/``UploadQuery``, the POST body from ``ImageFiles`` (multipart)
and ``Base64Images`` (JSON). ``install`` lets FastAPI build the document and
adds what no route declares: the request bodies' schemas and the security
scheme. The examples are instances of the models, validated when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.models import HTTPBase
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from facematch.contract.models import (
    CONTRACT_FIELDS,
    Base64Images,
    Envelope,
    Finding,
    FormatType,
    ImageFiles,
    MatchData,
    UploadQuery,
    UrlQuery,
)
from facematch.types import ErrorCode, InvalidCode

if TYPE_CHECKING:
    from fastapi import FastAPI

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "basicAuth"
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
TAG = "face_matching"
#: The request bodies' models, added to ``components.schemas`` (the responses' are FastAPI's).
REQUEST_MODELS: tuple[type[BaseModel], ...] = (ImageFiles, Base64Images)
_JPEG_B64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHSEaHRwcGhwcICQuJyAiLCMcHCg3KSws..."
_RID = "3f0c9a1e5b7d4c2a9e8f1b6d0a4c7e21"
_COMMON = ("Authentication: HTTP Basic, user = api_key, password = api_secret. Only successful requests "
           "(errorCode 0) count against the key's quota.")


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``model``'s fields: its JSON schema, one parameter a field, with the
    field's description and first example beside an inline schema (an enum's values, not a reference; an
    optional parameter's schema without its ``null``: it is simply left out)."""
    schema = model.model_json_schema(ref_template="{model}")
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        if "$ref" in prop:
            prop = {**defs[prop.pop("$ref")], **prop}
        branches = [b for b in prop.pop("anyOf", ()) if b.get("type") != "null"]
        if len(branches) == 1:
            prop.update(branches[0])
        if "const" in prop:
            prop["enum"] = [prop.pop("const")]
        prop.pop("title", None)
        description = prop.pop("description", "")
        examples = prop.pop("examples", None)
        if prop.get("default", "") is None:
            del prop["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "description": description, "schema": prop}
        if examples:
            param["example"] = examples[0]
        out.append(param)
    return out


def _envelope(code: ErrorCode, **data: Any) -> dict[str, Any]:
    """An example answer, built (and so validated) as the model."""
    fields: dict[str, Any] = {"request_id": _RID}
    if code is not ErrorCode.SUCCESS:
        fields = {**dict.fromkeys(CONTRACT_FIELDS, ""), **fields}
    return Envelope.of(code, MatchData(**{**fields, **data})).model_dump(mode="json", exclude_unset=True)


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _error(code: ErrorCode, summary: str, **data: Any) -> dict[str, Any]:
    return _example(summary, _envelope(code, **data))


_MATCH = {"matching": "76.60", "match": "1", "face1": _JPEG_B64, "face2": _JPEG_B64, "face1_score": "0.9357",
          "face2_score": "0.9422", "invalidCode": "0", "invalidMessage": InvalidCode.OK.message, "warnings": [],
          "face1_box": [174, 70, 279, 175], "face2_box": [239, 82, 333, 176], "distance": "0.2088",
          "calibration": "sface-v1", "network": "sface-2021dec"}
_TOO_SMALL = InvalidCode.FACE_TOO_SMALL
_WARNING = {**_MATCH, "matching": "71.50", "match": "0", "invalidCode": str(int(_TOO_SMALL)),
            "invalidMessage": _TOO_SMALL.message,
            "warnings": [Finding(code=str(int(_TOO_SMALL)), message=_TOO_SMALL.message, check="face_too_small",
                                 image="img2", value=0.08, limit=0.12)]}
_HEADERS = {"X-Request-ID": {"description": "Id of this request, also in `data.request_id` and the service's logs.",
                             "schema": {"type": "string"}}}
_RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait."}


def _response(description: str, examples: dict[str, dict[str, Any]],
              extra_headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"model": Envelope, "description": description, "headers": {**_HEADERS, **(extra_headers or {})},
            "content": {"application/json": {"examples": examples}}}


def responses(method: str) -> dict[int | str, dict[str, Any]]:
    """FastAPI's ``responses=`` for ``method``: every HTTP status the route answers, each the ``Envelope``;
    with FACEMATCH_LEGACY_HTTP_200 all of them are sent as 200 instead."""
    format_type = _error(ErrorCode.FORMAT_TYPE, "errorCode 6: format_type or type1 does not agree with the request")
    if method == "get":
        bad_request = {"url_unavailable": _error(ErrorCode.URL_UNAVAILABLE,
                                                 "errorCode 2: an image URL could not be fetched or was refused"),
                       "format_type": format_type}
    else:
        bad_request = {"no_content": _error(ErrorCode.NO_CONTENT,
                                            "errorCode 1: an image is missing, empty or unreadable"),
                       "format_type": format_type}
    out: dict[int | str, dict[str, Any]] = {
        200: _response("Matched (errorCode 0), with the most severe warning in invalidCode and every finding in "
                       "warnings.", {"match": _example("same person", _envelope(ErrorCode.SUCCESS, **_MATCH)),
                                     "warning": _example("with a warning", _envelope(ErrorCode.SUCCESS, **_WARNING))}),
        400: _response("errorCode 1, 2 or 6.", bad_request),
        401: _response("errorCode 5: missing or wrong credentials.",
                       {"auth": _error(ErrorCode.AUTH, "errorCode 5: bad credentials")},
                       {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Basic realm="facematch"'}}),
        413: _response("errorCode 1: the request body is larger than FACEMATCH_LIMITS__MAX_BODY_BYTES.",
                       {"too_large": _error(ErrorCode.NO_CONTENT, "errorCode 1: body too large")}),
        422: _response("errorCode 3: an image has no face (invalidCode 4 for the card, 5 for the portrait; the "
                       "other image's face crop is returned).",
                       {"no_face": _error(ErrorCode.NO_FACE, "errorCode 3: no face in the portrait",
                                          invalidCode=str(int(InvalidCode.NO_FACE_PORTRAIT)),
                                          invalidMessage=InvalidCode.NO_FACE_PORTRAIT.message, face1=_JPEG_B64,
                                          face1_score="0.9357", face1_box=[174, 70, 279, 175], warnings=[])}),
        429: _response("errorCode 4: the key's quota is used up (only successful requests count); or errorCode "
                       "429: too many failed authentications from this address (with Retry-After).",
                       {"quota": _error(ErrorCode.QUOTA_EXCEEDED, "errorCode 4: out of requests"),
                        "auth_rate_limited": _error(ErrorCode.RATE_LIMITED, "too many failed authentications")},
                       {"Retry-After": {**_RETRY_AFTER, "description": "Seconds to wait (failed-authentication "
                                                                       "limit only)."}}),
        500: _response("Unexpected failure; logged with the request id, never a traceback.",
                       {"internal": _error(ErrorCode.INTERNAL, "internal error")}),
        503: _response("Overloaded, past the request deadline, or the database is unreachable: retry later.",
                       {"unavailable": _error(ErrorCode.UNAVAILABLE, "service unavailable")},
                       {"Retry-After": _RETRY_AFTER}),
    }
    if method == "get":
        del out[413]  # no body
    return out


def _body_example(summary: str, img1: str, img2: str) -> dict[str, Any]:
    return _example(summary, Base64Images(img1=img1, img2=img2).model_dump(exclude_unset=True))


def get_operation() -> dict[str, Any]:
    """FastAPI's route arguments of mode 1 (GET, URLs)."""
    return {
        "operation_id": "faceMatchingUrls", "summary": "Match two images given by URL", "tags": [TAG],
        "description": f"Mode 1 of the v2 contract: `format_type={FormatType.URL}`; the service downloads both "
                       "images. " + _COMMON,
        "responses": responses("get"),
        "openapi_extra": {"security": SECURITY, "parameters": query_parameters(UrlQuery)},
    }


def post_operation() -> dict[str, Any]:
    """FastAPI's route arguments of modes 2 and 3 (POST, multipart files or base64 JSON)."""
    return {
        "operation_id": "faceMatchingUpload", "tags": [TAG],
        "summary": "Match two uploaded images (multipart files or base64 JSON)",
        "description": f"Modes 2 and 3 of the v2 contract: `format_type={FormatType.FILE}` with a "
                       "`multipart/form-data` body holding the files `img1` and `img2`, or "
                       f"`format_type={FormatType.BASE64}` with an `application/json` body "
                       "`{\"img1\": \"<base64>\", \"img2\": \"<base64>\"}`. " + _COMMON,
        "responses": responses("post"),
        "openapi_extra": {
            "security": SECURITY,
            "parameters": query_parameters(UploadQuery),
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {
                    "schema": {"$ref": REF.format(model=ImageFiles.__name__)},
                    "encoding": {"img1": {"contentType": "image/*"}, "img2": {"contentType": "image/*"}},
                },
                "application/json": {
                    "schema": {"$ref": REF.format(model=Base64Images.__name__)},
                    "examples": {
                        "plain": _body_example("base64", _JPEG_B64, _JPEG_B64),
                        "data_url": _body_example("data URL prefix", "data:image/jpeg;base64," + _JPEG_B64,
                                                  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA..."),
                    },
                },
            }},
        },
    }


def install(app: FastAPI) -> None:
    """``/openapi.json`` (and so ``/docs``): FastAPI's document, plus the request bodies' schemas (from
    ``REQUEST_MODELS``), the HTTP Basic security scheme and the tag's description."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                             description=app.description, routes=app.routes, servers=app.servers)
        _, bodies = models_json_schema([(m, "validation") for m in REQUEST_MODELS], ref_template=REF)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, body in bodies.get("$defs", {}).items():
            if schemas.setdefault(name, body) != body:
                raise RuntimeError(f"two different schemas named {name}")
        scheme = HTTPBase(scheme="basic", description="user = api_key, password = api_secret")
        components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = scheme.model_dump(
            mode="json", by_alias=True, exclude_none=True)
        schema.setdefault("tags", []).append({
            "name": TAG,
            "description": "The v2 face_matching contract: an ID card (CMND/CCCD) photo against a live portrait."})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
