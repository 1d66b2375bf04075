"""Warnings as data: each check returns ``Finding``s; ``policy`` picks the one
reported as the v2 ``invalidCode``; ``contract.envelope.finding`` puts one on
the wire (``contract.models.Finding``)."""

from __future__ import annotations

from dataclasses import dataclass

from facematch.types import InvalidCode


@dataclass(frozen=True)
class Finding:
    """One warning: which check, on which image, what it measured against which limit."""

    code: InvalidCode
    check: str
    image: str  # "img1" or "img2"
    value: float | None = None
    limit: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", InvalidCode(self.code))  # a bare int is checked against the contract

    @property
    def message(self) -> str:
        return self.code.message
