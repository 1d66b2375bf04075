"""Warnings as data: each check returns ``Finding``s; ``policy`` picks the one
reported as the v2 ``invalidCode``."""

from __future__ import annotations

from dataclasses import dataclass

#: The v2 contract's warning messages, typos included: clients compare them.
INVALID_MESSAGES: dict[int, str] = {
    0: "Successful",
    1: "The ID card photo is not existed",
    2: "The picture is a photocopy version of the id card",
    3: "The ID card photo is suspected of tampering",
    4: "The ID card photo does not contain a face",
    5: "The portrait photo does not contain a face",
    6: "Photo contains more than one face",
    7: "Wearing sunglasses",
    8: "Wearing a hat",
    9: "Wearing a mask",
    10: "Photo taken from picture, screen, blurred noise or sign of fraud",
    11: "The face in the picture is too small",
    12: "The face in the portrait photo is too close to the margin",
}


@dataclass(frozen=True)
class Finding:
    """One warning: which check, on which image, what it measured against which limit."""

    code: int
    check: str
    image: str  # "img1" or "img2"
    value: float | None = None
    limit: float | None = None

    @property
    def message(self) -> str:
        return INVALID_MESSAGES[self.code]

    def as_dict(self) -> dict:
        return {
            "code": str(self.code),
            "message": self.message,
            "check": self.check,
            "image": self.image,
            "value": None if self.value is None else round(float(self.value), 4),
            "limit": None if self.limit is None else round(float(self.limit), 4),
        }
