"""The v2 ``face_matching`` contract as types: the one definition of the wire.

* Request: the query parameters of each method (``UrlQuery`` for GET,
  ``UploadQuery`` for POST) and the two POST bodies (``ImageFiles``, multipart;
  ``Base64Images``, JSON).
* Response: ``Envelope`` around ``MatchData``, with the extensions
  ``Finding`` (an entry of ``data.warnings``) and ``ChipResult`` (``data.chip``).

The service builds its answers from these models (``contract.envelope``) and
FastAPI generates ``/openapi.json`` from them (``contract.schema``); the Python
client (``facematch.client``) parses answers into the same models; the code
tables of docs/api.md are rendered from the enums (``contract.tables``).

Every contract value is a string on the wire; codes are typed ``str`` here and
their allowed values are documented from the enums of ``facematch.types``
(one source of each enum), so that a client can still read an answer with a
code it does not know yet. A field is on the wire exactly when it was set:
answers are serialised with ``exclude_unset`` (``Envelope.to_json``), which
keeps the extension fields out of answers they do not apply to, and lets a
parsed answer be written back byte for byte. This module imports only
pydantic and ``facematch.types``: the client imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from facematch.types import ErrorCode, ImageKind, InvalidCode

__all__ = [
    "CHIP_FIELDS", "CONTRACT_FIELDS", "Base64Images", "ChipResult", "ChipStatus", "Envelope", "Finding",
    "FormatType", "ImageFiles", "MatchData", "MatchValue", "UploadQuery", "UrlQuery",
]


class FormatType(StrEnum):
    """The v2 ``format_type``: how the two images are sent."""

    URL = "url"  # GET, query parameters
    FILE = "file"  # POST, multipart/form-data
    BASE64 = "base64"  # POST, application/json


class MatchValue(StrEnum):
    """The v2 ``match``: the three-level decision."""

    SAME = "1"  # matching > 75
    REVIEW = "0"  # matching in [65, 75]
    DIFFERENT = "-1"  # matching < 65


class ChipStatus(StrEnum):
    """``data.chip.status``: the outcome of the chip data's passive authentication (``passive_auth``)."""

    VALID = "valid"
    NOT_CHECKED = "not_checked"
    HASH_MISMATCH = "hash_mismatch"
    BAD_SIGNATURE = "bad_signature"
    UNTRUSTED_SIGNER = "untrusted_signer"
    EXPIRED = "expired"
    REVOKED = "revoked"
    MALFORMED = "malformed"


#: The contract's ``data`` fields, in the contract's order (design/api-v2.md); every other field is an extension.
CONTRACT_FIELDS = ("matching", "face1", "face2", "face1_score", "face2_score", "invalidCode", "invalidMessage",
                   "match")
#: Request fields of the chip's data besides the DG2 (docs/chip.md), and the data group each is (None: EF.SOD).
CHIP_FIELDS: dict[str, int | None] = {"sod": None, "dg1": 1, "dg13": 13, "dg14": 14, "dg15": 15}


def _codes(values: Iterable[object], *extra: str) -> dict[str, Any]:
    """The JSON schema of a code sent as a string: its allowed values, from an enum."""
    return {"enum": [str(int(v)) if isinstance(v, int) else str(v) for v in values] + list(extra)}


def _required(*names: str) -> Callable[[dict[str, Any]], None]:
    """A model's schema lists ``names`` as required: what the service always sends. The fields themselves
    keep defaults, so that a client reads an answer of an older service (or one without extensions)."""

    def edit(schema: dict[str, Any]) -> None:
        schema["required"] = list(names)

    return edit


def _described(codes: Iterable[ErrorCode | InvalidCode]) -> str:
    return "; ".join(f"{int(c)} = {c.message}" for c in codes)


_BASE64_JPEG: dict[str, Any] = {"contentEncoding": "base64", "contentMediaType": "image/jpeg"}
_EXT = "*Extension*: "
Box = Annotated[list[int], Field(min_length=4, max_length=4)]


# --- response -----------------------------------------------------------------

class Finding(BaseModel):
    """One finding of a check (extension). `value` was measured, `limit` is the threshold it crossed;
    `message` is the contract's invalidMessage of `code`."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(json_schema_extra=_codes(c for c in InvalidCode if c))
    message: str
    check: str = Field(description="Name of the check that produced it.")
    image: str = Field(json_schema_extra={"enum": ["img1", "img2"]})
    value: float | None
    limit: float | None


class ChipResult(BaseModel):
    """*Extension*, with `type1=chip`: passive authentication of the chip's data (ICAO 9303 part 11) against
    the configured CSCAs. Every status but `valid` and `not_checked` adds a warning with code 3; `not_checked`
    adds the warning `chip_not_verified` (listed, never the reported invalidCode)."""

    model_config = ConfigDict(frozen=True)

    verified: bool
    status: str = Field(json_schema_extra=_codes(ChipStatus))
    signer: str = Field("", description="Subject of the document signer certificate.")
    issuer: str = Field("", description="Subject of the country signing CA that issued it.")
    dataGroups: dict[str, bool] = Field(default_factory=dict, description=(
        "Whether each data group given (DG2, and DG1/13/14/15 when sent) matched its hash in the SOD."))


class MatchData(BaseModel):
    """Every contract value is a string (empty when not applicable). Fields marked *extension* are additions an
    old client does not see."""

    # Numbers are read as strings: a client reads an answer whatever produced it.
    model_config = ConfigDict(coerce_numbers_to_str=True, json_schema_extra=_required(*CONTRACT_FIELDS))

    matching: str = Field("", description="Calibrated similarity in percent, two decimals.", examples=["76.60"])
    face1: str = Field("", description="Face crop found in img1, base64 JPEG.", json_schema_extra=_BASE64_JPEG)
    face2: str = Field("", description="Face crop found in img2, base64 JPEG.", json_schema_extra=_BASE64_JPEG)
    face1_score: str = Field("", description="Detector confidence of face1, 0-1.")
    face2_score: str = Field("", description="Detector confidence of face2, 0-1.")
    invalidCode: str = Field("", description="The most severe warning: " + _described(InvalidCode),
                             json_schema_extra=_codes(InvalidCode, ""))
    invalidMessage: str = Field("", description="The contract's message for invalidCode.")
    match: str = Field("", description="`1` if matching > 75, `0` if in [65, 75], `-1` below 65.",
                       json_schema_extra=_codes(MatchValue, ""))
    warnings: list[Finding] = Field(default_factory=list, description=(
        _EXT + "every finding, not only the one reported as invalidCode."))
    face1_box: Box = Field(default_factory=list, description=_EXT + "face box in img1, (x1, y1, x2, y2) pixels.")
    face2_box: Box = Field(default_factory=list, description=_EXT + "face box in img2, (x1, y1, x2, y2) pixels.")
    distance: str = Field("", description=_EXT + "embedding distance behind `matching`.")
    calibration: str = Field("", description=_EXT + "version of the distance-to-percent map.")
    network: str = Field("", description=(
        _EXT + "the embedding network behind `distance` (`sface-2021dec` by default, `dlib-resnet-v1`)."))
    request_id: str = Field("", description=_EXT + "also in the X-Request-ID header.")
    chip: ChipResult | SkipJsonSchema[None] = None  # set only with type1=chip, never sent as null


class Envelope(BaseModel):
    """Every answer, success or error: `data`, `errorCode` and `errorMessage`."""

    model_config = ConfigDict(coerce_numbers_to_str=True, json_schema_extra=_required("data", "errorCode",
                                                                                      "errorMessage"))

    data: MatchData
    errorCode: str = Field(description=(
        _described(c for c in ErrorCode if c < 100) + "; not v2 codes: "
        + _described(c for c in ErrorCode if c >= 100)), json_schema_extra=_codes(ErrorCode))
    errorMessage: str = ""

    def to_json(self) -> bytes:
        """The answer as sent: compact UTF-8 JSON of the fields that were set, in the models' order."""
        return self.__pydantic_serializer__.to_json(self, exclude_unset=True)

    @classmethod
    def of(cls, code: ErrorCode, data: MatchData) -> Envelope:
        return cls(data=data, errorCode=str(int(code)), errorMessage=code.message)


# --- request ------------------------------------------------------------------

_TYPE1 = ("What `img1` is: the ID card photo (`card`, the default), a portrait (`portrait`), or (extension) "
          "the portrait read from the CCCD's chip (`chip`: the DG2 data group, its ISO/IEC 19794-5 face record, or "
          "the bare image). `img2` is always a portrait.")
_FORMAT_TYPE = "How the images are sent; must agree with the request, otherwise errorCode 6. "
_URL = ("URL of {} (http or https, public address unless allow-listed; size and time limited). URL-encode it.")
_IMG1 = "The ID card photo (or a portrait, see type1)"
_SOD = "*Extension*, with type1=chip: the chip's Document Security Object EF.SOD as read (tag 0x77); img1 must " \
       "then be the DG2 bytes as read."
_DG = "*Extension*, with type1=chip and sod: data group {} as read; its hash is checked too (never returned or stored)."


class UrlQuery(BaseModel):
    """Mode 1 (GET): both images by URL; the service downloads them."""

    img1: str = Field(description=_URL.format("the ID card photo (or a portrait, see type1)"),
                      json_schema_extra={"format": "uri"}, examples=["https://cdn.example.com/card.jpg"])
    img2: str = Field(description=_URL.format("the portrait"), json_schema_extra={"format": "uri"},
                      examples=["https://cdn.example.com/selfie.jpg"])
    type1: ImageKind = Field(ImageKind.CARD, description=_TYPE1)
    format_type: Literal[FormatType.URL] = Field(FormatType.URL, description=(
        _FORMAT_TYPE + "For GET: `url` (the default when omitted)."))


class UploadQuery(BaseModel):
    """Modes 2 and 3 (POST): the query parameters; the images are in the body."""

    type1: ImageKind = Field(ImageKind.CARD, description=_TYPE1)
    format_type: Literal[FormatType.FILE, FormatType.BASE64] | None = Field(None, description=(
        _FORMAT_TYPE + "For POST: `file` with multipart/form-data, `base64` with application/json "
        "(inferred from the Content-Type when omitted)."))


class ImageFiles(BaseModel):
    """Mode 2: a `multipart/form-data` body with the files `img1` and `img2`."""

    img1: bytes = Field(description=_IMG1 + ": JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG 2000, HEIC/HEIF or AVIF; with "
                                            "type1=chip also the chip's DG2 bytes.")
    img2: bytes = Field(description="The portrait.")
    sod: bytes = Field(b"", description=_SOD)
    dg1: bytes = Field(b"", description=_DG.format(1))
    dg13: bytes = Field(b"", description=_DG.format(13))
    dg14: bytes = Field(b"", description=_DG.format(14))
    dg15: bytes = Field(b"", description=_DG.format(15))


class Base64Images(BaseModel):
    """Mode 3: both images as base64 strings. Newlines (as `base64.encodebytes` writes them), a
    `data:image/...;base64,` prefix, the URL-safe alphabet and missing padding are accepted."""

    img1: str = Field(description=_IMG1 + ".", json_schema_extra={"contentEncoding": "base64"})
    img2: str = Field(description="The portrait.", json_schema_extra={"contentEncoding": "base64"})
    sod: str = Field("", description=_SOD, json_schema_extra={"contentEncoding": "base64"})
    dg1: str = Field("", description=_DG.format(1), json_schema_extra={"contentEncoding": "base64"})
    dg13: str = Field("", description=_DG.format(13), json_schema_extra={"contentEncoding": "base64"})
    dg14: str = Field("", description=_DG.format(14), json_schema_extra={"contentEncoding": "base64"})
    dg15: str = Field("", description=_DG.format(15), json_schema_extra={"contentEncoding": "base64"})
