"""A Python client for the v2 ``face_matching`` API.

    from facematch.client import Client, NoFaceError

    with Client("http://127.0.0.1:8000", api_key, api_secret) as fm:
        r = fm.match("card.jpg", "selfie.jpg")             # paths, bytes, PIL images, numpy arrays
        r = fm.match(card_url, selfie_url)                  # URLs: format_type=url (the service downloads)
        r = fm.match(pil_card, selfie_bytes, mode="base64")
        print(r.matching, r.match, r.invalid_code, [w.message for w in r.warnings])

``match`` returns a frozen ``MatchResponse`` with typed values (the wire
format sends every value as a string). Any errorCode other than 0 raises the
``ClientError`` subclass of that code, whatever the HTTP status (so it also
works against a service running with ``FACEMATCH_LEGACY_HTTP_200``).

Only ``httpx`` is needed; Pillow and numpy are used only when such objects are
passed in. The client never downloads a URL itself: URLs are sent with
``mode="url"`` and fetched by the service.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from facematch.contract.models import CHIP_FIELDS, Base64Images, Envelope, Finding, FormatType, UploadQuery, UrlQuery
from facematch.types import ImageKind

__all__ = [
    "Client", "MatchResponse", "MatchWarning", "ImageInput", "Mode",
    "ClientError", "NoContentError", "UrlUnavailableError", "NoFaceError", "QuotaExceededError",
    "AuthenticationError", "FormatTypeError", "RateLimitedError", "ServiceUnavailableError",
    "InternalServerError", "TransportError", "UnexpectedResponseError", "ERRORS", "PATH",
]

PATH = "/api/v2/ekyc/face_matching"
Mode = Literal["file", "base64", "url"]
#: A path (``str`` or ``os.PathLike``), raw bytes, a binary file object, a
#: ``PIL.Image.Image``, an RGB (or grayscale) ``numpy.ndarray`` of uint8, or
#: an ``http(s)://`` URL string.
ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | Any


# --- errors -----------------------------------------------------------------

class ClientError(Exception):
    """Base of every error this client raises.

    ``error_code`` is the v2 errorCode as an int (None when the service did
    not answer with a v2 envelope); ``http_status`` the HTTP status (None when
    no response arrived); ``response`` the parsed envelope, if any (a dict; ``envelope``: the same as
    ``facematch.contract.models.Envelope``).
    """

    error_code: int | None = None

    def __init__(self, message: str, *, error_code: int | None = None, http_status: int | None = None,
                 response: dict[str, Any] | None = None, request_id: str = "",
                 retry_after: float | None = None, envelope: Envelope | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        self.http_status = http_status
        self.response = response
        self.request_id = request_id
        #: Seconds to wait before retrying (from ``Retry-After``), when the service said.
        self.retry_after = retry_after
        #: ``response`` as the contract's model (None when it is not a valid envelope).
        self.envelope = envelope
        data = (response or {}).get("data") or {}
        #: invalidCode sent with the error (4/5 say which image has no face), or 0.
        self.invalid_code = _int(data.get("invalidCode"), 0)
        self.invalid_message = str(data.get("invalidMessage") or "")

    def __str__(self) -> str:
        code = "" if self.error_code is None else f"errorCode {self.error_code}: "
        rid = f" (request_id {self.request_id})" if self.request_id else ""
        return f"{code}{self.message}{rid}"


class NoContentError(ClientError):
    """errorCode 1: an uploaded image is missing, empty, too large or unreadable."""
    error_code = 1


class UrlUnavailableError(ClientError):
    """errorCode 2: the service could not fetch an image URL (or refused it)."""
    error_code = 2


class NoFaceError(ClientError):
    """errorCode 3: an image has no face; ``invalid_code`` is 4 (card) or 5 (portrait).

    ``face1``/``face2`` hold the crop of the face that was found, if any.
    """
    error_code = 3

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        data = (self.response or {}).get("data") or {}
        self.face1 = _b64(data.get("face1"))
        self.face2 = _b64(data.get("face2"))


class QuotaExceededError(ClientError):
    """errorCode 4: the key's request quota is used up."""
    error_code = 4


class AuthenticationError(ClientError):
    """errorCode 5: wrong or missing api_key / api_secret."""
    error_code = 5


class FormatTypeError(ClientError):
    """errorCode 6: ``format_type`` or ``type1`` does not agree with the request."""
    error_code = 6


class RateLimitedError(ClientError):
    """errorCode 429 (not a v2 code): too many failed authentications from this address; see ``retry_after``."""
    error_code = 429


class ServiceUnavailableError(ClientError):
    """errorCode 503 (not a v2 code): overloaded, past the deadline or database down; retry later."""
    error_code = 503


class InternalServerError(ClientError):
    """errorCode 500 (not a v2 code): an unexpected failure inside the service (its logs have the request id)."""
    error_code = 500


class TransportError(ClientError):
    """No response: connection refused, timeout, TLS or protocol failure (``__cause__`` is httpx's error)."""


class UnexpectedResponseError(ClientError):
    """A response that is not a v2 envelope (a proxy's error page, a wrong base_url, ...)."""


#: errorCode -> exception class.
ERRORS: dict[int, type[ClientError]] = {cls.error_code: cls for cls in (
    NoContentError, UrlUnavailableError, NoFaceError, QuotaExceededError, AuthenticationError, FormatTypeError,
    RateLimitedError, ServiceUnavailableError, InternalServerError)}


# --- results ----------------------------------------------------------------
# The answer is parsed into the contract's models (``facematch.contract.models``, the ones the service
# answers with); ``MatchResponse`` and ``MatchWarning`` are typed views of them (numbers as numbers).

@dataclass(frozen=True)
class MatchWarning:
    """One finding of a check: ``value`` was measured, ``limit`` is the threshold."""

    code: int
    message: str
    check: str
    image: str  # "img1" or "img2"
    value: float | None
    limit: float | None

    @classmethod
    def from_finding(cls, f: Finding) -> MatchWarning:
        return cls(code=_int(f.code, 0) or 0, message=f.message, check=f.check, image=f.image, value=f.value,
                   limit=f.limit)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MatchWarning:
        """From an entry of ``data.warnings`` as received (``pydantic.ValidationError`` if it is not one)."""
        return cls.from_finding(Finding.model_validate(d))


@dataclass(frozen=True)
class MatchResponse:
    """A successful match (errorCode 0), with typed values."""

    matching: float  # calibrated similarity, percent
    match: int  # 1 same person (> 75 %), 0 review ([65, 75] %), -1 different (< 65 %)
    face1: bytes  # JPEG crop of the face in img1
    face2: bytes  # JPEG crop of the face in img2
    face1_score: float
    face2_score: float
    invalid_code: int  # the most severe warning, 0 for none
    invalid_message: str
    warnings: tuple[MatchWarning, ...]  # every finding
    request_id: str
    face1_box: tuple[int, int, int, int] | None = None  # (x1, y1, x2, y2) in img1's pixels
    face2_box: tuple[int, int, int, int] | None = None
    distance: float | None = None
    calibration: str = ""
    http_status: int = 200
    network: str = ""  # the embedding network behind ``distance``
    chip: dict[str, Any] | None = None  # with type1="chip": the chip data's verification (docs/chip.md)
    raw: dict[str, Any] = field(default_factory=dict[str, Any], repr=False, compare=False)  # the envelope as received
    #: The envelope as the contract's model (``facematch.contract.models.Envelope``).
    envelope: Envelope | None = field(default=None, repr=False, compare=False)

    @property
    def is_match(self) -> bool:
        return self.match == 1

    @classmethod
    def from_envelope(cls, doc: dict[str, Any] | Envelope, *, http_status: int = 200,
                      request_id: str = "") -> MatchResponse:
        """From a success envelope, as received (a dict) or parsed (``Envelope``); ``ValueError`` (a
        ``pydantic.ValidationError`` among them) when it is not one."""
        env = doc if isinstance(doc, Envelope) else Envelope.model_validate(doc)
        raw = doc if isinstance(doc, dict) else env.model_dump(mode="json", exclude_unset=True)
        d = env.data
        return cls(
            matching=float(d.matching), match=int(d.match), face1=_b64(d.face1), face2=_b64(d.face2),
            face1_score=_float_or_none(d.face1_score) or 0.0, face2_score=_float_or_none(d.face2_score) or 0.0,
            invalid_code=_int(d.invalidCode, 0) or 0, invalid_message=d.invalidMessage,
            warnings=tuple(MatchWarning.from_finding(w) for w in d.warnings),
            request_id=d.request_id or request_id, face1_box=_box(d.face1_box), face2_box=_box(d.face2_box),
            distance=_float_or_none(d.distance), calibration=d.calibration, http_status=http_status,
            network=d.network, chip=None if d.chip is None else d.chip.model_dump(), raw=raw, envelope=env)


# --- the client -------------------------------------------------------------

class Client:
    """A synchronous client; thread-safe like the ``httpx.Client`` it wraps.

    ``transport`` replaces the network (an ``httpx.BaseTransport``, e.g.
    ``httpx.MockTransport`` in tests). Use as a context manager or call ``close()``.
    """

    def __init__(self, base_url: str, api_key: str, api_secret: str, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, path: str = PATH,
                 headers: dict[str, str] | None = None, retries: int = 2, max_retry_wait_s: float = 10.0) -> None:
        """``retries``: how many times a request is sent again when the service answers 503 (overloaded,
        this key's share taken, deadline, database: nothing was charged), after its ``Retry-After`` (at most
        ``max_retry_wait_s``), or when the connection could not be made (nothing was sent). Never after a
        timeout or a dropped answer, which may have been a charged match. 0: never."""
        self.base_url = base_url.rstrip("/")
        self.path = path
        self.retries = max(0, retries)
        self.max_retry_wait_s = max_retry_wait_s
        self._http = httpx.Client(base_url=self.base_url, auth=(api_key, api_secret), timeout=timeout,
                                  transport=transport, headers={"User-Agent": "facematch-client", **(headers or {})})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def match(self, img1: ImageInput, img2: ImageInput, type1: Literal["card", "portrait", "chip"] = "card",
              mode: Mode | None = None, *, chip_data: dict[str, bytes] | None = None) -> MatchResponse:
        """Match ``img1`` (the ID card photo, a portrait with ``type1="portrait"``, or the CCCD chip's DG2
        bytes or portrait with ``type1="chip"``) with the portrait ``img2``.

        ``mode``: ``"file"`` (multipart upload), ``"base64"`` (JSON body) or
        ``"url"`` (both inputs are URLs the service downloads). Default: ``"url"``
        when both inputs are URL strings, else ``"file"``.
        ``chip_data``: with ``type1="chip"``, ``{"sod": ..., "dg1": ...}`` as read from the chip; the answer's
        ``chip`` then says whether the data verified (docs/chip.md).
        """
        if type1 not in tuple(ImageKind):
            raise ValueError("type1 must be " + ", ".join(f"'{k}'" for k in ImageKind))
        kind = ImageKind(type1)
        extra = dict(chip_data or {})
        if extra and (kind is not ImageKind.CHIP or set(extra) - set(CHIP_FIELDS)):
            raise ValueError(f"chip_data takes {', '.join(CHIP_FIELDS)}, with type1='chip'")
        if mode is None:
            mode = "url" if _is_url(img1) and _is_url(img2) else "file"
        # The query and the JSON body are the contract's request models (facematch.contract.models).
        if mode == "url":
            if not (_is_url(img1) and _is_url(img2)):
                raise ValueError("mode='url' needs two http(s) URLs")
            if extra:
                raise ValueError("chip_data needs mode 'file' or 'base64'")
            query = UrlQuery(img1=str(img1).strip(), img2=str(img2).strip(), type1=kind, format_type=FormatType.URL)
            request = self._http.build_request("GET", self.path, params=query.model_dump(mode="json"))
        elif mode == "file":
            raw1, raw2 = image_bytes(img1), image_bytes(img2)
            request = self._http.build_request(
                "POST", self.path, params=_upload_query(kind, FormatType.FILE),
                files={"img1": ("img1" + _extension(raw1), raw1, _media_type(raw1)),
                       "img2": ("img2" + _extension(raw2), raw2, _media_type(raw2)),
                       **{k: (f"{k}.bin", v, "application/octet-stream") for k, v in extra.items()}})
        elif mode == "base64":
            raw1, raw2 = image_bytes(img1), image_bytes(img2)
            body = Base64Images(img1=_b64encode(raw1), img2=_b64encode(raw2),
                                **{k: _b64encode(v) for k, v in extra.items()})
            request = self._http.build_request(
                "POST", self.path, params=_upload_query(kind, FormatType.BASE64),
                content=body.model_dump_json(exclude_unset=True), headers={"Content-Type": "application/json"})
        else:
            raise ValueError("mode must be 'file', 'base64' or 'url'")
        request.read()  # the body in memory, so that a retry sends it again
        retries = self.retries
        while True:
            try:
                response = self._http.send(request)
            except httpx.ConnectError as exc:
                if not retries:
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                wait = 1.0
            except httpx.HTTPError as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            else:
                try:
                    return _parse(response)
                except ServiceUnavailableError as exc:
                    if not retries:
                        raise
                    wait = exc.retry_after or 1.0
            retries -= 1
            _sleep(min(wait, self.max_retry_wait_s))


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _upload_query(kind: ImageKind, format_type: FormatType) -> dict[str, Any]:
    return UploadQuery(type1=kind, format_type=format_type).model_dump(mode="json")


def _parse(response: httpx.Response) -> MatchResponse:
    request_id = response.headers.get("x-request-id", "")
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "errorCode" not in doc or not isinstance(doc.get("data"), dict):
        raise UnexpectedResponseError(f"not a v2 response (HTTP {response.status_code})",
                                      http_status=response.status_code, request_id=request_id)
    try:
        env: Envelope | None = Envelope.model_validate(doc)
        invalid = ""
    except ValidationError as exc:  # an error is still raised as its errorCode's class, from the dict
        env, invalid = None, str(exc)
    code = _int(doc.get("errorCode"), None)
    request_id = str(doc["data"].get("request_id") or request_id)
    if code == 0:
        try:
            if env is None:
                raise ValueError(invalid)
            return MatchResponse.from_envelope(env, http_status=response.status_code, request_id=request_id)
        except (TypeError, ValueError) as exc:
            raise UnexpectedResponseError(f"malformed v2 success response: {exc}", error_code=0,
                                          http_status=response.status_code, response=doc,
                                          request_id=request_id) from None
    retry_after = _float_or_none(response.headers.get("retry-after"))
    cls = ERRORS.get(code, ClientError) if code is not None else UnexpectedResponseError
    raise cls(str(doc.get("errorMessage") or "error"), error_code=code, http_status=response.status_code,
              response=doc, request_id=request_id, retry_after=retry_after, envelope=env)


# --- inputs -----------------------------------------------------------------

def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def image_bytes(value: ImageInput) -> bytes:
    """The encoded image to upload: file contents, bytes as given, or PIL /
    numpy images encoded as JPEG (quality 95)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        if _is_url(value):
            raise ValueError("a URL input needs mode='url' (the service downloads it; this client does not)")
        return Path(value).read_bytes()
    if isinstance(value, os.PathLike):
        return Path(value).read_bytes()
    pil_image = sys.modules.get("PIL.Image")
    if pil_image is not None and isinstance(value, pil_image.Image):
        return _encode_pil(value)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        from PIL import Image

        arr = value
        if arr.dtype != np.uint8:
            raise ValueError("numpy images must be uint8 (RGB, height x width x 3, or grayscale)")
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
            raise ValueError(f"numpy image of shape {arr.shape}: expected HxW, HxWx3 (RGB) or HxWx4 (RGBA)")
        return _encode_pil(Image.fromarray(np.ascontiguousarray(arr)))
    if hasattr(value, "read"):
        data = value.read()
        if isinstance(data, str):
            raise ValueError("open image files in binary mode ('rb')")
        return bytes(data)
    raise TypeError(f"unsupported image input: {type(value).__name__}")


def _encode_pil(img: Any) -> bytes:
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


_SIGNATURES = ((b"\xff\xd8\xff", ".jpg", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
               (b"GIF8", ".gif", "image/gif"), (b"BM", ".bmp", "image/bmp"),
               (b"II*\x00", ".tif", "image/tiff"), (b"MM\x00*", ".tif", "image/tiff"))


def _sniff(data: bytes) -> tuple[str, str]:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp", "image/webp"
    for magic, ext, media in _SIGNATURES:
        if data.startswith(magic):
            return ext, media
    return "", "application/octet-stream"


def _extension(data: bytes) -> str:
    return _sniff(data)[0]


def _media_type(data: bytes) -> str:
    return _sniff(data)[1]


# --- wire values (every v2 value is a string) --------------------------------

def _int(value: object, default: int | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _float_or_none(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64(value: object) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value)
    except ValueError:
        return b""


def _box(value: object) -> tuple[int, int, int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 4:
        try:
            return tuple(int(v) for v in value)  # type: ignore[return-value]
        except (TypeError, ValueError):
            return None
    return None
