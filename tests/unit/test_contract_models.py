"""The contract's models are the one definition: the service answers with
them (byte for byte as before), ``/openapi.json`` is generated from them,
and the client parses into them."""

from __future__ import annotations

import base64
import importlib.util
import json

import numpy as np
import pytest

from facematch import client as fmc
from facematch.checks import Finding as CheckFinding
from facematch.contract import envelope, schema
from facematch.contract.models import (
    CHIP_FIELDS,
    CONTRACT_FIELDS,
    Base64Images,
    ChipResult,
    ChipStatus,
    Envelope,
    Finding,
    FormatType,
    ImageFiles,
    MatchData,
    UploadQuery,
    UrlQuery,
)
from facematch.errors import NoContentError, NoFaceError
from facematch.matcher import Face, ImageAnalysis, MatchResult
from facematch.passive_auth import ChipCheck
from facematch.types import ErrorCode, ImageKind, InvalidCode

REF = "#/components/schemas/{model}"


def _analysis(role: str, with_face: bool = True, findings=()) -> ImageAnalysis:
    face = Face(box=(10.4, 20.6, 110.0, 130.2), score=0.93567, landmarks=np.zeros((5, 2)),
                embedding=np.zeros(128, np.float32), crop=np.full((40, 30, 3), 128, np.uint8)) if with_face else None
    return ImageAnalysis(role=role, kind=ImageKind.PORTRAIT, face=face, face_count=int(with_face),
                         findings=list(findings))


def _result(chip: ChipCheck | None = None) -> MatchResult:
    small = CheckFinding(InvalidCode.FACE_TOO_SMALL, "face_too_small", "img2", value=0.081234, limit=0.12)
    return MatchResult(distance=0.20884, matching=71.5, match=0, image1=_analysis("img1"),
                       image2=_analysis("img2", findings=[small]), calibration_version="sface-v1",
                       network="sface-2021dec", chip=chip)


def test_the_hand_written_openapi_module_is_gone():
    assert importlib.util.find_spec("facematch.contract.openapi") is None


def test_success_wire_format():
    body = json.loads(envelope.success(_result(), "r" * 32).to_json())
    assert list(body) == ["data", "errorCode", "errorMessage"]
    assert body["errorCode"] == "0" and body["errorMessage"] == ErrorCode.SUCCESS.message
    d = body["data"]
    assert list(d)[:8] == list(CONTRACT_FIELDS)  # the contract's fields first, in its order
    assert set(d) == set(CONTRACT_FIELDS) | {"warnings", "face1_box", "face2_box", "distance", "calibration",
                                             "network", "request_id"}  # no chip without type1=chip
    assert all(isinstance(d[name], str) for name in CONTRACT_FIELDS)
    assert (d["matching"], d["match"], d["invalidCode"], d["face1_score"]) == ("71.50", "0", "11", "0.9357")
    assert d["invalidMessage"] == InvalidCode.FACE_TOO_SMALL.message
    assert base64.b64decode(d["face1"])[:3] == b"\xff\xd8\xff"
    assert d["face1_box"] == [10, 21, 110, 130] and d["distance"] == "0.2088"
    assert d["warnings"] == [{"code": "11", "message": InvalidCode.FACE_TOO_SMALL.message, "check": "face_too_small",
                              "image": "img2", "value": 0.0812, "limit": 0.12}]


def test_chip_result_is_sent_only_with_a_chip():
    check = ChipCheck("valid", "CN=signer", "CN=csca", {"DG2": True})
    d = json.loads(envelope.success(_result(check), "r").to_json())["data"]
    assert d["chip"] == {"verified": True, "status": "valid", "signer": "CN=signer", "issuer": "CN=csca",
                         "dataGroups": {"DG2": True}} == check.as_dict()
    assert list(d)[-1] == "chip"


def test_failure_wire_format_is_pinned():
    body = envelope.failure(NoContentError("img1_missing"), "rid").to_json()
    assert body == (b'{"data":{"matching":"","face1":"","face2":"","face1_score":"","face2_score":"",'
                    b'"invalidCode":"","invalidMessage":"","match":"","request_id":"rid"},'
                    b'"errorCode":"1","errorMessage":"The photo does not contain content"}')
    assert Envelope.model_validate_json(body).to_json() == body  # a parsed answer is written back as it came


def test_no_face_failure_returns_the_face_found():
    error = NoFaceError("no_face", invalid_code=InvalidCode.NO_FACE_PORTRAIT,
                        partial=(_analysis("img1"), _analysis("img2", with_face=False)))
    d = json.loads(envelope.failure(error, "rid").to_json())["data"]
    assert d["invalidCode"] == "5" and d["invalidMessage"] == InvalidCode.NO_FACE_PORTRAIT.message
    assert d["face1"] and d["face1_box"] and d["face2"] == "" and "face2_box" not in d and d["warnings"] == []


def test_every_value_comes_from_the_enums():
    assert [str(int(c)) for c in ErrorCode] == Envelope.model_json_schema()["properties"]["errorCode"]["enum"]
    props = MatchData.model_json_schema()["properties"]
    assert props["invalidCode"]["enum"] == [str(int(c)) for c in InvalidCode] + [""]
    assert Finding.model_json_schema()["properties"]["code"]["enum"] == [str(int(c)) for c in InvalidCode if c]
    assert ChipResult.model_json_schema()["properties"]["status"]["enum"] == list(ChipStatus)
    assert set(CHIP_FIELDS) == set(ImageFiles.model_fields) - {"img1", "img2"} \
        == set(Base64Images.model_fields) - {"img1", "img2"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    from facematch.api.app import PATH, create_app
    from facematch.settings import Settings

    doc = create_app(Settings(data_dir=tmp_path_factory.mktemp("data"))).openapi()
    doc["x-path"] = PATH
    return doc


@pytest.mark.parametrize("model", [Envelope, MatchData, Finding, ChipResult, ImageFiles, Base64Images])
def test_openapi_components_are_the_models_schemas(spec, model):
    mode = "validation" if model in schema.REQUEST_MODELS else "serialization"
    expected = model.model_json_schema(mode=mode, ref_template=REF)
    expected.pop("$defs", None)
    for prop in expected["properties"].values():  # FastAPI leaves out a default of None (chip: never sent as null)
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    assert spec["components"]["schemas"][model.__name__] == expected


def test_openapi_parameters_and_bodies_are_the_request_models(spec):
    item = spec["paths"][spec["x-path"]]
    assert [p["name"] for p in item["get"]["parameters"]] == list(UrlQuery.model_fields)
    assert [p["name"] for p in item["post"]["parameters"]] == list(UploadQuery.model_fields)
    assert [p["name"] for p in item["get"]["parameters"] if p["required"]] == ["img1", "img2"]
    content = item["post"]["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"] == {"$ref": REF.format(model="ImageFiles")}
    assert content["application/json"]["schema"] == {"$ref": REF.format(model="Base64Images")}
    formats = {method: [p["schema"]["enum"] for p in op["parameters"] if p["name"] == "format_type"]
               for method, op in item.items()}
    assert formats == {"get": [[FormatType.URL]], "post": [[FormatType.FILE, FormatType.BASE64]]}


def test_openapi_examples_are_valid_envelopes(spec):
    seen = 0
    for op in spec["paths"][spec["x-path"]].values():
        for status, response in op["responses"].items():
            for example in response["content"]["application/json"]["examples"].values():
                value = example["value"]
                parsed = Envelope.model_validate(value)
                assert json.loads(parsed.to_json()) == value
                assert parsed.errorMessage == ErrorCode(int(parsed.errorCode)).message
                assert (parsed.errorCode == "0") == (status == "200")
                seen += 1
    assert seen >= 15


def test_client_parses_into_the_same_models():
    doc = json.loads(envelope.success(_result(ChipCheck("not_checked")), "r" * 32).to_json())
    r = fmc.MatchResponse.from_envelope(doc)
    assert isinstance(r.envelope, Envelope) and isinstance(r.envelope.data.warnings[0], Finding)
    assert json.loads(r.envelope.to_json()) == doc
    assert r.warnings == (fmc.MatchWarning(11, InvalidCode.FACE_TOO_SMALL.message, "face_too_small", "img2", 0.0812,
                                           0.12),)
    assert r.chip == {"verified": False, "status": "not_checked", "signer": "", "issuer": "", "dataGroups": {}}
    assert r.face1_box == (10, 21, 110, 130) and r.network == "sface-2021dec" and r.matching == 71.5


def test_client_reads_numbers_sent_as_numbers():
    r = fmc.MatchResponse.from_envelope({"data": {"matching": 80.5, "match": 1, "invalidCode": 0}, "errorCode": 0})
    assert (r.matching, r.match, r.invalid_code) == (80.5, 1, 0)


def test_client_requests_are_the_request_models():
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=envelope.success(_result(), "r").to_json())

    with fmc.Client("http://svc", "k", "s", transport=httpx.MockTransport(handler)) as c:
        c.match(b"a", b"b", "chip", "base64", chip_data={"sod": b"s", "dg1": b"d"})
        c.match("https://a.example/1.jpg", "https://a.example/2.jpg", "portrait")
    body = Base64Images.model_validate_json(seen[0].content)
    assert (body.img1, body.sod, body.dg1, body.dg13) == ("YQ==", "cw==", "ZA==", "")
    assert UploadQuery.model_validate(dict(seen[0].url.params)) == UploadQuery(type1=ImageKind.CHIP,
                                                                                format_type=FormatType.BASE64)
    assert UrlQuery.model_validate(dict(seen[1].url.params)).type1 is ImageKind.PORTRAIT


def test_client_raises_the_errors_class_with_the_model():
    import httpx

    answer = envelope.failure(NoContentError("x"), "rid").to_json()
    with fmc.Client("http://svc", "k", "s", transport=httpx.MockTransport(
            lambda r: httpx.Response(400, content=answer))) as c, pytest.raises(fmc.NoContentError) as exc:
        c.match(b"a", b"b")
    assert exc.value.envelope is not None and exc.value.envelope.to_json() == answer
    assert exc.value.request_id == "rid"
