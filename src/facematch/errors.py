"""One exception tree with the stable codes of the v2 contract.

No HTTP imports here: ``facematch.api.errors`` is the one place that maps these
to an HTTP status and the v2 envelope.
"""

from __future__ import annotations


class FaceMatchError(Exception):
    """Base of every domain error. ``error_code`` is the v2 ``errorCode``."""

    error_code: int = -1
    message: str = "Internal error"
    http_status: int = 500

    def __init__(self, detail: str = "", *, invalid_code: int = 0) -> None:
        super().__init__(detail or self.message)
        #: Short machine-readable reason (never contains user data).
        self.detail = detail
        #: v2 ``invalidCode`` to report with this error (e.g. 4/5 for no face).
        self.invalid_code = invalid_code


class NoContentError(FaceMatchError):
    """An uploaded image is missing, empty, too large or cannot be decoded."""

    error_code = 1
    message = "The photo does not contain content"
    http_status = 400


class UrlUnavailableError(FaceMatchError):
    """Fetching an image URL failed or was refused (SSRF guard, size, timeout)."""

    error_code = 2
    message = "Url is unavailable"
    http_status = 400


class NoFaceError(FaceMatchError):
    """One of the images holds no detectable human face."""

    error_code = 3
    message = "Incorrect image format"
    http_status = 422

    def __init__(self, detail: str = "", *, invalid_code: int = 0, partial=None) -> None:
        super().__init__(detail, invalid_code=invalid_code)
        #: What was found before the failure (a ``MatchResult`` with one face), or None.
        self.partial = partial


class QuotaExceededError(FaceMatchError):
    error_code = 4
    message = "Out of requests"
    http_status = 429


class AuthError(FaceMatchError):
    error_code = 5
    message = "Incorrect api_key or api_secret"
    http_status = 401


class FormatTypeError(FaceMatchError):
    """``format_type`` (or ``type1``) does not agree with what was sent."""

    error_code = 6
    message = "Incorrect format type"
    http_status = 400


class ServiceUnavailableError(FaceMatchError):
    """The service cannot take the request now (overload, database down).

    Not a v2 code: reported with HTTP 503 and a ``Retry-After`` header.
    """

    error_code = 503
    message = "Service temporarily unavailable"
    http_status = 503


ERROR_MESSAGES: dict[int, str] = {
    0: "Success",
    **{cls.error_code: cls.message for cls in (
        NoContentError, UrlUnavailableError, NoFaceError, QuotaExceededError, AuthError, FormatTypeError)},
}
