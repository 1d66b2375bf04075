"""One exception tree, with the stable codes of the v2 contract; no HTTP here.

::

    FaceMatchError                     code (ErrorCode), detail, invalid_code
    ├── InputError                     the request's images or parameters
    │   ├── NoContentError             1  missing, empty, too large or undecodable image; bad DG2 record
    │   │   └── BodyTooLargeError      1  the whole request body is over the limit
    │   ├── UrlUnavailableError        2  a URL could not be fetched, or was refused
    │   └── FormatTypeError            6  format_type or type1 disagree with the request
    ├── NoFaceError                    3  an image holds no face (invalid_code 4 or 5; ``partial``)
    ├── AccessError                    the caller may not match now
    │   ├── AuthError                  5  bad or missing credentials
    │   ├── QuotaExceededError         4  the key's quota is used up
    │   └── RateLimitedError         429  too many failed authentications (``retry_after``)
    ├── ServiceUnavailableError      503  overloaded, past the deadline, database down (``retry_after``)
    │   └── (store.StoreUnavailableError)
    └── InternalError                500  a bug or a broken installation (missing or corrupt weights)

Only ``facematch.api.errors`` maps these to an HTTP status and headers; the
contract layer (``facematch.contract``) turns them into the v2 envelope. An
exception that is not a ``FaceMatchError`` is a bug: the API logs it with the
request id and answers errorCode 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

from facematch.types import ErrorCode, InvalidCode

__all__ = ["FaceMatchError", "InputError", "NoContentError", "BodyTooLargeError", "UrlUnavailableError",
           "FormatTypeError", "NoFaceError", "AccessError", "AuthError", "QuotaExceededError", "RateLimitedError",
           "ServiceUnavailableError", "InternalError"]


class FaceMatchError(Exception):
    """Base of every domain error. ``code`` is the v2 ``errorCode``; ``detail``
    a short machine-readable reason that never contains user data."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, detail: str = "", *, invalid_code: InvalidCode = InvalidCode.OK) -> None:
        super().__init__(detail or self.code.message)
        self.detail = detail
        #: v2 ``invalidCode`` reported with this error (4 or 5 for no face).
        self.invalid_code = invalid_code

    @property
    def message(self) -> str:
        return self.code.message


class InputError(FaceMatchError):
    """Something the request sent is unusable."""


class NoContentError(InputError):
    """An image is missing, empty, too large or cannot be decoded."""

    code = ErrorCode.NO_CONTENT


class BodyTooLargeError(NoContentError):
    """The request body is larger than ``limits.max_body_bytes``."""


class UrlUnavailableError(InputError):
    """Fetching an image URL failed or was refused (SSRF guard, size, timeout)."""

    code = ErrorCode.URL_UNAVAILABLE


class FormatTypeError(InputError):
    """``format_type`` (or ``type1``) does not agree with what was sent."""

    code = ErrorCode.FORMAT_TYPE


class NoFaceError(FaceMatchError):
    """An image holds no detectable face; ``partial`` holds both analyses
    (``matcher.ImageAnalysis``: the other image's face crop is still
    returned). Typed loosely so that this module, below every other, imports
    none of them."""

    code = ErrorCode.NO_FACE

    def __init__(self, detail: str = "", *, invalid_code: InvalidCode = InvalidCode.OK,
                 partial: tuple[Any, Any] | None = None) -> None:
        super().__init__(detail, invalid_code=invalid_code)
        self.partial = partial


class AccessError(FaceMatchError):
    """The caller may not match now."""


class AuthError(AccessError):
    code = ErrorCode.AUTH


class QuotaExceededError(AccessError):
    code = ErrorCode.QUOTA_EXCEEDED


class RateLimitedError(AccessError):
    """Too many failed authentications from one address. Not a v2 code (like
    503): an old client sees an unknown errorCode."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        super().__init__("auth_rate_limited")
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailableError(FaceMatchError):
    """The service cannot take the request now (overload, deadline, database
    down). Not a v2 code; ``retry_after`` seconds."""

    code = ErrorCode.UNAVAILABLE
    retry_after: int = 1


class InternalError(FaceMatchError):
    """A bug or a broken installation (e.g. model weights missing or corrupt)."""

    code = ErrorCode.INTERNAL
