"""Which finding becomes ``invalidCode``: the most severe, fraud before quality.

Order (first present wins): not a card (1), tampering (3), photocopy (2),
recapture / fraud (10), several faces (6), mask (9), sunglasses (7), hat (8),
face too small (11), too close to the margin (12). No face (4/5) is an error
(errorCode 3) and reported with it. Informational findings (``INFORMATIONAL``:
a chip portrait nobody could verify) are listed in ``warnings`` but never
become ``invalidCode``: they rank below every failure.
"""

from __future__ import annotations

from collections.abc import Iterable

from facematch.checks import Finding
from facematch.types import InvalidCode as C

SEVERITY = (C.NO_CARD, C.TAMPERING, C.PHOTOCOPY, C.FRAUD, C.NO_FACE_CARD, C.NO_FACE_PORTRAIT, C.SEVERAL_FACES,
            C.MASK, C.SUNGLASSES, C.HAT, C.FACE_TOO_SMALL, C.FACE_NEAR_MARGIN)


#: Checks listed for the client's information only.
INFORMATIONAL = frozenset({"chip_not_verified"})


def pick(findings: Iterable[Finding]) -> C:
    codes = {f.code for f in findings if f.check not in INFORMATIONAL}
    return next((c for c in SEVERITY if c in codes), C.OK)
