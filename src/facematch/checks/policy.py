"""Which finding becomes ``invalidCode``: the most severe, fraud before quality.

Order (first present wins): not a card (1), tampering (3), photocopy (2),
recapture / fraud (10), several faces (6), mask (9), sunglasses (7), hat (8),
face too small (11), too close to the margin (12). No face (4/5) is an error
(errorCode 3) and reported with it.
"""

from __future__ import annotations

from facematch.checks import Finding

SEVERITY = (1, 3, 2, 10, 4, 5, 6, 9, 7, 8, 11, 12)


def pick(findings: list[Finding]) -> int:
    codes = {f.code for f in findings}
    return next((c for c in SEVERITY if c in codes), 0)
