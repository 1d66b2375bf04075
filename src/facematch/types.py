"""The contract's vocabulary as types, and the geometry conventions.

* ``ImageKind``: what an image is (the v2 ``type1`` picks img1's kind; img2 is
  always a portrait).
* ``ErrorCode``: the v2 ``errorCode`` of a response (``0`` is success), plus
  this service's own 503 (try again later) and 500 (internal error).
* ``InvalidCode``: the v2 ``invalidCode`` warnings, with the contract's
  messages (typos included: clients compare them).
* ``Box``: ``(x1, y1, x2, y2)`` in pixels of the original image.
* The five landmarks are dlib's, in ``LANDMARK_NAMES`` order.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Box", "ErrorCode", "ImageKind", "InvalidCode", "LANDMARK_NAMES"]


Box = tuple[float, float, float, float]

#: Order of the five landmarks (pixels of the original image), for an upright
#: frontal face: outer and inner corner of the eye on the image's right (the
#: person's left eye), outer and inner corner of the eye on the image's left,
#: base of the nose.
LANDMARK_NAMES = ("eye_left_outer", "eye_left_inner", "eye_right_outer", "eye_right_inner", "nose_base")


class ImageKind(StrEnum):
    """What an image is; ``type1`` chooses img1's, img2 is always a portrait."""

    CARD = "card"  # a photo of the ID card (CMND/CCCD), the portrait printed on it
    PORTRAIT = "portrait"  # a live photo of the person
    CHIP = "chip"  # the portrait read from the CCCD's chip (ICAO 9303 DG2), an extension of v2


class ErrorCode(IntEnum):
    """The v2 ``errorCode``; ``message`` is the contract's ``errorMessage``."""

    SUCCESS = 0
    NO_CONTENT = 1
    URL_UNAVAILABLE = 2
    NO_FACE = 3
    QUOTA_EXCEEDED = 4
    AUTH = 5
    FORMAT_TYPE = 6
    RATE_LIMITED = 429  # not v2: too many failed authentications from one address; Retry-After says when
    INTERNAL = 500  # not v2: an unexpected failure inside the service (logged with the request id)
    UNAVAILABLE = 503  # not v2: overloaded, past the deadline or the database down; Retry-After says when

    @property
    def message(self) -> str:
        return _ERROR_MESSAGES[self]


_ERROR_MESSAGES = {
    ErrorCode.SUCCESS: "Success",
    ErrorCode.NO_CONTENT: "The photo does not contain content",
    ErrorCode.URL_UNAVAILABLE: "Url is unavailable",
    ErrorCode.NO_FACE: "Incorrect image format",
    ErrorCode.QUOTA_EXCEEDED: "Out of requests",
    ErrorCode.AUTH: "Incorrect api_key or api_secret",
    ErrorCode.FORMAT_TYPE: "Incorrect format type",
    ErrorCode.RATE_LIMITED: "Too many failed authentication attempts",
    ErrorCode.INTERNAL: "Internal error",
    ErrorCode.UNAVAILABLE: "Service temporarily unavailable",
}


class InvalidCode(IntEnum):
    """The v2 ``invalidCode``; ``message`` is the contract's ``invalidMessage``."""

    OK = 0
    NO_CARD = 1
    PHOTOCOPY = 2
    TAMPERING = 3
    NO_FACE_CARD = 4
    NO_FACE_PORTRAIT = 5
    SEVERAL_FACES = 6
    SUNGLASSES = 7
    HAT = 8
    MASK = 9
    FRAUD = 10  # recapture of a screen or print, blur or noise
    FACE_TOO_SMALL = 11
    FACE_NEAR_MARGIN = 12

    @property
    def message(self) -> str:
        return _INVALID_MESSAGES[self]


_INVALID_MESSAGES = {
    InvalidCode.OK: "Successful",
    InvalidCode.NO_CARD: "The ID card photo is not existed",
    InvalidCode.PHOTOCOPY: "The picture is a photocopy version of the id card",
    InvalidCode.TAMPERING: "The ID card photo is suspected of tampering",
    InvalidCode.NO_FACE_CARD: "The ID card photo does not contain a face",
    InvalidCode.NO_FACE_PORTRAIT: "The portrait photo does not contain a face",
    InvalidCode.SEVERAL_FACES: "Photo contains more than one face",
    InvalidCode.SUNGLASSES: "Wearing sunglasses",
    InvalidCode.HAT: "Wearing a hat",
    InvalidCode.MASK: "Wearing a mask",
    InvalidCode.FRAUD: "Photo taken from picture, screen, blurred noise or sign of fraud",
    InvalidCode.FACE_TOO_SMALL: "The face in the picture is too small",
    InvalidCode.FACE_NEAR_MARGIN: "The face in the portrait photo is too close to the margin",
}
